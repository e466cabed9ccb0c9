// The seal panel of a plate read: where the vehicle read is sealed (its
// plates declared with a shipment at the node's seal exchange), its
// seal's state, and the seal's track plotted against the declared route.
// The plot is drawn from the data alone: no map service is reachable.

import { h, fmtTime } from './dom.js';
import { api } from './api.js';

const SVG = 'http://www.w3.org/2000/svg';
const W = 420;
const H = 260;
const PAD = 14;

// sealPanel fills el with the sealed shipments of plate, or hides it when
// there are none (or the node is no operator of the exchange).
export async function sealPanel(el, plate) {
  el.hidden = true;
  let res;
  try {
    res = await api(`/api/v1/seals/vehicles/${encodeURIComponent(plate)}`);
  } catch {
    return; // 404: this node does not take part in the exchange
  }
  const list = res?.shipments || [];
  if (!list.length) return;
  el.replaceChildren(...list.map(shipment));
  el.hidden = false;
}

function shipment(s) {
  const abnormal = s.anomalies.length > 0;
  const last = s.track[s.track.length - 1];
  const facts = [
    ['Seal', s.seal], ['Shipment', s.shipment], ['Seal operator', s.operator || '—'],
    ['Sealed since', fmtTime(s.since)], ['Plates', (s.plates || []).join(', ')],
    ['Last report', last ? `${fmtTime(last.time)}, battery ${last.battery} %, ${last.speed} km/h` : 'none yet'],
  ];
  return h('div', { class: 'seal-shipment', dataset: { seal: s.seal } },
    h('h2', {}, 'Seal ',
      h('span', { class: `badge ${abnormal ? 'badge-grave' : 'badge-ok'}`, id: 'seal-state',
        text: abnormal ? `abnormal: ${s.anomalies.map((a) => a.code).join(', ')}` : 'normal' })),
    abnormal ? h('ul', { class: 'seal-anomalies' }, s.anomalies.map((a) => h('li', {
      text: `${a.code} ${describe(a.code)}${a.detail ? ` — ${a.detail}` : ''}${a.reported_by ? ` (reported by ${a.reported_by})` : ''}, since ${fmtTime(a.at)}` }))) : null,
    h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: String(v) })])),
    plot(s),
    s.crossings.length ? h('div', { class: 'muted small', id: 'seal-crossings' },
      `Read ${s.crossings.length} time${s.crossings.length === 1 ? '' : 's'} while sealed; last at ${s.crossings[0].origin}/${s.crossings[0].camera}, ${fmtTime(s.crossings[0].at)}`,
      s.crossings[0].visit ? [' (visit ', h('a', { href: `#/visits?site=${encodeURIComponent(s.crossings[0].origin)}`, text: s.crossings[0].visit }), ')'] : null, '.') : null);
}

const CODES = {
  '01': 'locking element broken', '02': 'electronic unit housing broken', '03': 'off the declared route',
  '04': 'seal fault', '05': 'battery below 15 %', '06': 'no data for two reporting periods', '07': 'unauthorised actions',
};

function describe(code) { return CODES[code] || ''; }

function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  return el;
}

// plot draws the route (dashed) and the track (solid, its last point
// ringed) in an equirectangular frame scaled for the mean latitude, with
// the width of the frame in kilometres.
function plot(s) {
  const route = (s.route || []).map(([lon, lat]) => ({ lon, lat }));
  const track = s.track.map((r) => ({ lon: r.longitude, lat: r.latitude }));
  const all = route.concat(track);
  if (!all.length) return h('div', { class: 'muted small', text: 'No route declared and no reports yet: nothing to plot.' });
  let [minLon, maxLon, minLat, maxLat] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const p of all) {
    minLon = Math.min(minLon, p.lon); maxLon = Math.max(maxLon, p.lon);
    minLat = Math.min(minLat, p.lat); maxLat = Math.max(maxLat, p.lat);
  }
  const k = Math.cos(((minLat + maxLat) / 2) * Math.PI / 180);
  const spanX = Math.max((maxLon - minLon) * k, 1e-4);
  const spanY = Math.max(maxLat - minLat, 1e-4);
  const scale = Math.min((W - 2 * PAD) / spanX, (H - 2 * PAD) / spanY);
  const ox = (W - spanX * scale) / 2;
  const oy = (H - spanY * scale) / 2;
  const xy = (p) => [ox + (p.lon - minLon) * k * scale, H - oy - (p.lat - minLat) * scale];
  const pts = (ps) => ps.map((p) => xy(p).map((v) => v.toFixed(1)).join(',')).join(' ');
  const el = svg('svg', { class: 'seal-plot', id: 'seal-plot', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img',
    'aria-label': `Track of seal ${s.seal}: ${track.length} reports against the declared route` });
  el.append(svg('rect', { x: 0, y: 0, width: W, height: H, class: 'seal-plot-bg' }));
  if (route.length > 1) el.append(svg('polyline', { points: pts(route), class: 'seal-route' }));
  if (track.length > 1) el.append(svg('polyline', { points: pts(track), class: 'seal-track' }));
  for (const p of track) {
    const [x, y] = xy(p);
    el.append(svg('circle', { cx: x.toFixed(1), cy: y.toFixed(1), r: 2, class: 'seal-point' }));
  }
  if (track.length) {
    const [x, y] = xy(track[track.length - 1]);
    el.append(svg('circle', { cx: x.toFixed(1), cy: y.toFixed(1), r: 6, class: `seal-last${s.anomalies.length ? ' abnormal' : ''}` }));
  }
  const km = spanX * 111.32 * (W / (spanX * scale));
  const legend = svg('text', { x: 6, y: H - 6, class: 'seal-plot-legend' });
  legend.textContent = `≈ ${km < 10 ? km.toFixed(1) : Math.round(km)} km across · dashed: declared route · dots: ${track.length} reports`;
  el.append(legend);
  return el;
}
