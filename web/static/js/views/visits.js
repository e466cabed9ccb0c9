// Checkpoint: the vehicles on the site now, zone by zone with how long
// they have been there; the time per zone over the last 24 hours; the
// latest visits with the zones they went through; the card mismatches
// with their three attempts and the exit barriers with the permissions they
// wait for. On a parent, every site below it (a site filter narrows it).

import { h, clear, fmtTime } from '../dom.js';
import { api } from '../api.js';
import { casesPanel, barriersPanel, exitCell, violationsPanel } from './desk.js';

const POLL_MS = 5000;

// fmtDur prints seconds as 45 s, 12 min, 3 h 05 min, 2 d 4 h.
export function fmtDur(secs) {
  const s = Math.max(0, Math.round(secs));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const hr = Math.floor(m / 60);
  if (hr < 48) return `${hr} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(hr / 24)} d ${hr % 24} h`;
}

function plates(v) {
  return [v.tractor, v.trailer].filter(Boolean).join(' + ') || '—';
}

export function visitsView(ctx, params) {
  const site = h('input', { id: 'visits-site', placeholder: 'site (all)', value: params.get('site') || '', autocomplete: 'off' });
  const sites = h('div', { id: 'visits-sites' });
  const now = h('div', { id: 'visits-now' });
  const stats = h('div', { id: 'visits-stats' });
  const recent = h('div', { id: 'visits-recent' });
  const cases = h('div', { id: 'visits-cases' });
  const barriers = h('div', { id: 'visits-barriers' });
  const violations = h('div', { id: 'visits-violations' });
  const status = h('div', { class: 'muted', id: 'visits-status', text: 'Loading…' });
  const el = h('section', { class: 'view-visits', 'aria-label': 'Checkpoint' },
    h('form', { class: 'toolbar', onsubmit: (ev) => { ev.preventDefault(); ctx.setParams({ site: site.value.trim() }); load(); } },
      h('h1', { text: 'Checkpoint' }), site, h('button', { type: 'submit', class: 'primary', text: 'Show' })),
    status,
    h('h2', { text: 'Sites' }), sites,
    h('h2', { text: 'Card mismatches' }), cases,
    h('h2', { text: 'Exit barriers' }), barriers,
    h('h2', { text: 'Violations and alarms' }), violations,
    h('h2', { text: 'On the site now' }), now,
    h('h2', { text: 'Time in each zone, last 24 hours' }), stats,
    h('h2', { text: 'Latest visits' }), recent);
  let timer = 0;
  let gone = false;

  function nowTable(open) {
    if (!open.length) return h('div', { class: 'muted', text: 'No vehicle on the site.' });
    // where each vehicle is: its last stay
    const byZone = new Map();
    for (const v of open) {
      const ds = v.dwell || [];
      const here = ds[ds.length - 1];
      if (!here) continue;
      if (!byZone.has(here.zone)) byZone.set(here.zone, []);
      byZone.get(here.zone).push({ v, here });
    }
    const zones = [...byZone.keys()].sort();
    return h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'visits-now-table' },
      h('thead', {}, h('tr', {}, ['Zone', 'Vehicle', 'In the zone', 'On the site', 'Entered', 'Card and exit', 'Site'].map((c) => h('th', { text: c })))),
      h('tbody', {}, zones.flatMap((z) => byZone.get(z)
        .sort((a, b) => b.here.seconds - a.here.seconds)
        .map(({ v, here }) => h('tr', { dataset: { zone: z, plate: v.tractor || v.trailer || '', visit: v.id } },
          h('td', { text: z }), h('td', { class: 'mono', text: plates(v) }),
          h('td', { text: fmtDur(here.seconds) }),
          h('td', { text: fmtDur((Date.now() - new Date(v.opened).getTime()) / 1000) }),
          h('td', { text: v.entry_seen ? fmtTime(v.opened) : `${fmtTime(v.opened)} (entry not seen)` }),
          exitCell(v, load),
          h('td', { text: v.site })))))));
  }

  // sitesTable sums up the vehicles on each site: at a centre, where to
  // look first; a click narrows the view to that site.
  function sitesTable(open) {
    const bySite = new Map();
    for (const v of open) {
      if (!bySite.has(v.site)) bySite.set(v.site, { n: 0, unseen: 0, longest: null });
      const s = bySite.get(v.site);
      s.n++;
      if (!v.entry_seen) s.unseen++;
      const ds = v.dwell || [];
      const here = ds[ds.length - 1];
      if (here && (!s.longest || here.seconds > s.longest.seconds)) s.longest = { ...here, plate: plates(v) };
    }
    if (!bySite.size) return h('div', { class: 'muted', text: 'No vehicle on any site.' });
    const names = [...bySite.keys()].sort();
    return h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'visits-sites-table' },
      h('thead', {}, h('tr', {}, ['Site', 'Vehicles on the site', 'Longest in a zone now', 'Entry not seen'].map((c) => h('th', { text: c })))),
      h('tbody', {}, names.map((n) => {
        const s = bySite.get(n);
        return h('tr', { class: 'clickable', dataset: { site: n, vehicles: String(s.n) }, title: `Show ${n} only`,
          onclick: () => { site.value = n; ctx.setParams({ site: n }); load(); } },
        h('td', { text: n }), h('td', { text: String(s.n) }),
        h('td', { text: s.longest ? `${s.longest.plate} in ${s.longest.zone}, ${fmtDur(s.longest.seconds)}` : '—' }),
        h('td', { text: String(s.unseen) }));
      }))));
  }

  function statsTable(zs) {
    if (!zs.length) return h('div', { class: 'muted', text: 'No completed stay in the last 24 hours.' });
    return h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'visits-stats-table' },
      h('thead', {}, h('tr', {}, ['Zone', 'Vehicles', 'Median', '90 %', 'Longest'].map((c) => h('th', { text: c })))),
      h('tbody', {}, zs.map((z) => h('tr', { dataset: { zone: z.zone } },
        h('td', { text: z.zone }), h('td', { text: String(z.vehicles) }), h('td', { text: fmtDur(z.median_seconds) }),
        h('td', { text: fmtDur(z.p90_seconds) }), h('td', { text: fmtDur(z.max_seconds) }))))));
  }

  function recentTable(vs) {
    if (!vs.length) return h('div', { class: 'muted', text: 'No visits yet.' });
    return h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'visits-recent-table' },
      h('thead', {}, h('tr', {}, ['Vehicle', 'Entered', 'Left', 'Zones', 'Site'].map((c) => h('th', { text: c })))),
      h('tbody', {}, vs.map((v) => h('tr', { dataset: { visit: v.id, plate: v.tractor || v.trailer || '' } },
        h('td', { class: 'mono', text: plates(v) }), h('td', { text: fmtTime(v.opened) }),
        h('td', { text: v.closed ? `${fmtTime(v.closed)}${v.closed_reason ? ` (${v.closed_reason})` : ''}` : 'on the site' }),
        h('td', { text: (v.dwell || []).map((d) => `${d.zone} ${fmtDur(d.seconds)}`).join(' → ') }),
        h('td', { text: v.site }))))));
  }

  // load redraws the view; force: even the card panel the operator is in
  // (after one of its own acts)
  async function load(force) {
    clearTimeout(timer);
    const s = site.value.trim() || undefined;
    try {
      const [open, st, latest, oc, bc, br, al] = await Promise.all([
        api('/api/v1/visits', { params: { state: 'open', site: s, limit: 1000 } }),
        api('/api/v1/visits/dwell', { params: { site: s } }),
        api('/api/v1/visits', { params: { site: s, limit: 50 } }),
        api('/api/v1/cases', { params: { state: 'open', site: s } }),
        api('/api/v1/cases', { params: { state: 'blocked', site: s, limit: 20 } }),
        api('/api/v1/barriers', { params: { site: s } }),
        api('/api/v1/alarms', { params: { state: '', limit: 1000 } }),
      ]);
      if (gone) return;
      // a panel being typed in is not redrawn under the operator's hands
      if (force === true || !cases.contains(document.activeElement)) clear(cases).append(...casesPanel(oc.cases || [], bc.cases || [], load));
      clear(barriers).append(barriersPanel(br.barriers || [], load));
      clear(violations).append(violationsPanel(Array.isArray(al) ? al : [], s));
      clear(sites).append(sitesTable(open.visits || []));
      clear(now).append(nowTable(open.visits || []));
      clear(stats).append(statsTable(st.zones || []));
      clear(recent).append(recentTable(latest.visits || []));
      const ov = open.visits || [];
      const where = new Set(ov.map((v) => v.site)).size > 1 ? 'the sites' : 'the site';
      status.textContent = `${ov.length} vehicle${ov.length === 1 ? '' : 's'} on ${where}; updated ${fmtTime(new Date())}.`;
      status.className = 'muted';
    } catch (e) {
      if (gone || e.status === 401) return;
      status.textContent = `Visits unavailable: ${e.message}`;
      status.className = 'notice notice-err';
    }
    timer = setTimeout(load, POLL_MS);
  }

  load();
  return { el, title: 'Checkpoint', unmount() { gone = true; clearTimeout(timer); } };
}
