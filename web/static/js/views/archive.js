// Archive: a camera and a time range, a timeline of what was recorded
// (segments, shaded gaps, plate-read and alarm markers), a player that
// starts where the timeline is clicked, and export of the range or of a
// dragged selection.

import { h, clear, fmtTime, fmtClock, toLocalInput, fromLocalInput, toast, dateTimeInput } from '../dom.js';
import { api, roleAtLeast, playUrl, exportUrl, transcodeUrl, session } from '../api.js';
import { openExportDialog } from '../exportdialog.js';
import { Player, hlsPresent, HLS_MISSING } from '../player.js';
import { playsNatively, codecName } from '../codecs.js';

const MAX_SPAN_MS = 24 * 3600 * 1000;
const TICKS = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200].map((s) => s * 1000);

export function archiveView(ctx, params) {
  const now = new Date();
  const state = {
    camera: params.get('camera') || localStorage.getItem('kuzet.archive.camera') || '',
    from: params.get('from') ? new Date(params.get('from')) : new Date(now - 3600 * 1000),
    to: params.get('to') ? new Date(params.get('to')) : now,
    at: params.get('at') ? new Date(params.get('at')) : null,
    segments: [], gaps: [], reads: [], alarms: [], sel: null,
  };
  if (Number.isNaN(state.from.getTime())) state.from = new Date(now - 3600 * 1000);
  if (Number.isNaN(state.to.getTime())) state.to = now;

  const camSel = h('select', { id: 'archive-camera', 'aria-label': 'Camera' });
  const fromIn = dateTimeInput({ id: 'archive-from', label: 'From' });
  const toIn = dateTimeInput({ id: 'archive-to', label: 'To' });
  const quick = [['15 min', 15], ['1 h', 60], ['6 h', 360], ['24 h', 1440]].map(([label, min]) =>
    h('button', { class: 'seg', text: label, title: `The last ${label}`, onclick: () => {
      const end = new Date();
      state.to = end;
      state.from = new Date(end - min * 60000);
      load();
    } }));
  const exportLink = h('a', { class: 'button', id: 'archive-export', text: 'Export MP4', download: '', title: 'Download the range (or the selection) as one MP4 (e)' });
  const packageBtn = h('button', { id: 'archive-package', text: 'Export package…', title: 'Several cameras, with a reason, signed by the node (p)',
    onclick: () => exportPackage() });
  const info = h('div', { class: 'tl-info muted', id: 'archive-info', text: '' });
  const timeline = h('div', { class: 'timeline', id: 'archive-timeline', tabindex: '0', 'aria-label': 'Timeline: click to play from a moment, drag to select a range' });
  const axis = h('div', { class: 'tl-axis' });
  const playhead = h('div', { class: 'tl-playhead', hidden: true });
  const hover = h('div', { class: 'tl-hover', hidden: true });
  const selEl = h('div', { class: 'tl-selection', hidden: true });
  const video = h('video', { controls: true, muted: true, playsinline: true, id: 'archive-video' });
  const vstatus = h('div', { class: 'player-status', id: 'archive-status', text: 'Click the timeline to play.' });
  const list = h('div', { class: 'events-list' });
  const player = new Player(video, {
    live: false,
    onStatus: (s, detail) => {
      vstatus.dataset.state = s;
      if (s === 'error' || s === 'retrying') vstatus.textContent = detail;
      else if (s === 'loading') vstatus.textContent = 'Loading…';
      else if (s === 'ended') vstatus.textContent = 'End of the range.';
    },
  });

  const el = h('section', { class: 'view-archive', 'aria-label': 'Archive' },
    h('div', { class: 'toolbar' },
      h('h1', { text: 'Archive' }),
      h('label', { class: 'field' }, 'Camera', camSel),
      h('label', { class: 'field' }, 'From', fromIn),
      h('label', { class: 'field' }, 'To', toIn),
      h('button', { text: 'Show', class: 'primary', onclick: () => readInputs() && load() }),
      h('div', { class: 'segmented', role: 'group', 'aria-label': 'Quick ranges' }, quick),
      roleAtLeast('operator') ? exportLink : null,
      roleAtLeast('operator') ? packageBtn : null),
    hlsPresent() ? null : h('div', { class: 'notice notice-warn', text: HLS_MISSING }),
    h('div', { class: 'tl-wrap' }, timeline, info,
      h('div', { class: 'tl-legend muted' },
        h('span', { class: 'lg lg-seg' }), 'recorded ', h('span', { class: 'lg lg-sub' }), 'sub-stream ', h('span', { class: 'lg lg-gap' }), 'gap ',
        h('span', { class: 'lg lg-read' }), 'plate read ', h('span', { class: 'lg lg-alarm' }), 'alarm')),
    h('div', { class: 'archive-main' },
      h('div', { class: 'player' }, video, vstatus),
      list));

  // fillCameras lists the tree's cameras; it reports whether it chose
  // the camera itself (none was chosen before).
  function fillCameras() {
    let picked = false;
    const cams = ctx.tree.cameras();
    if (!state.camera && cams.length) {
      // start with the camera picked in the tree, else the first one recording
      const pick = cams.find((c) => c.key === ctx.tree.selected) || cams.find((c) => c.state === 'streaming') || cams[0];
      state.camera = pick.key;
      camSel.value = '';
      picked = true;
    }
    const keys = cams.map((c) => c.key);
    if (state.camera && !keys.includes(state.camera)) keys.unshift(state.camera);
    const cur = camSel.value || state.camera;
    clear(camSel);
    camSel.append(h('option', { value: '', text: keys.length ? '— choose —' : 'no cameras' }));
    for (const k of keys) camSel.append(h('option', { value: k, text: k }));
    camSel.value = cur;
    return picked;
  }
  camSel.addEventListener('change', () => {
    state.camera = camSel.value;
    load();
  });

  function readInputs() {
    const f = fromLocalInput(fromIn.value);
    const t = fromLocalInput(toIn.value);
    if (!f || !t) { toast('Give both From and To.', 'error'); return false; }
    if (t <= f) { toast('To must be after From.', 'error'); return false; }
    state.from = f;
    state.to = t;
    state.camera = camSel.value;
    return true;
  }

  const span = () => state.to - state.from;
  const xOf = (t) => ((new Date(t) - state.from) / span()) * 100;
  const tOf = (clientX) => {
    const r = timeline.getBoundingClientRect();
    const f = Math.min(1, Math.max(0, (clientX - r.left) / r.width));
    return new Date(state.from.getTime() + f * span());
  };
  const place = (node, a, b) => {
    const l = Math.max(0, xOf(a));
    const r = Math.min(100, xOf(b));
    node.style.left = `${l}%`;
    node.style.width = `${Math.max(0.15, r - l)}%`;
  };

  async function load() {
    fromIn.value = toLocalInput(state.from);
    toIn.value = toLocalInput(state.to);
    state.sel = null;
    selEl.hidden = true;
    updateExport();
    if (!state.camera) {
      draw();
      info.textContent = 'Choose a camera.';
      return;
    }
    localStorage.setItem('kuzet.archive.camera', state.camera);
    ctx.tree.select(state.camera);
    ctx.setParams({ camera: state.camera, from: state.from.toISOString(), to: state.to.toISOString() });
    info.textContent = 'Loading…';
    const p = { camera: state.camera, from: state.from, to: state.to };
    const [segs, gaps, reads, alarms] = await Promise.allSettled([
      api('/api/v1/archive/segments', { params: p }),
      api('/api/v1/archive/gaps', { params: p }),
      api('/api/v1/plates', { params: { ...p, limit: 1000 } }),
      alarmsFor(state.camera),
    ]);
    state.segments = segs.status === 'fulfilled' ? segs.value || [] : [];
    state.gaps = gaps.status === 'fulfilled' ? gaps.value || [] : [];
    state.reads = reads.status === 'fulfilled' ? reads.value || [] : [];
    state.alarms = alarms.status === 'fulfilled' ? alarms.value : [];
    let note = '';
    if (segs.status === 'rejected') {
      note = segs.reason.status === 404 ? `No recordings of ${state.camera} on this node.` : `Segments: ${segs.reason.message}`;
    }
    draw();
    // an event-recorded camera has its main stream around events and its
    // sub-stream throughout: each is counted on its own
    const recorded = (q) => state.segments.filter((g) => (g.quality || 'main') === q)
      .reduce((s, g) => s + Math.max(0, Math.min(+new Date(g.end), +state.to) - Math.max(+new Date(g.start), +state.from)), 0);
    const subs = state.segments.filter((g) => g.quality === 'sub').length;
    const files = subs ? `${state.segments.length - subs} main-stream files (${fmtDur(recorded('main'))}), ${subs} sub-stream files (${fmtDur(recorded('sub'))})`
      : `${state.segments.length} files, ${fmtDur(recorded('main'))} recorded`;
    info.textContent = note || `${files}, ${state.gaps.length} gaps, ` +
      `${state.reads.length} plate reads, ${state.alarms.length} alarms in ${fmtDur(span())}.`;
    if (state.at) {
      playFrom(state.at);
      state.at = null;
    }
  }

  async function alarmsFor(key) {
    const cam = ctx.tree.camera(key);
    const i = key.indexOf('/');
    const origin = cam ? cam.node : (i > 0 ? key.slice(0, i) : session.nodeId);
    const id = cam ? cam.id : key.slice(i + 1);
    try {
      const list = await api('/api/v1/alarms', { params: { origin, camera: id, limit: 500 } });
      return (list || []).filter((a) => new Date(a.raised) < state.to && (!a.cleared || new Date(a.cleared) > state.from));
    } catch {
      return []; // alarms are optional on the timeline
    }
  }

  function draw() {
    clear(timeline);
    clear(axis);
    timeline.append(axis);
    const step = TICKS.find((s) => span() / s <= 10) || TICKS[TICKS.length - 1];
    const first = Math.ceil(state.from / step) * step;
    for (let t = first; t < +state.to; t += step) {
      const tick = h('div', { class: 'tl-tick' }, h('span', { text: fmtClock(new Date(t)).slice(0, 5) }));
      tick.style.left = `${xOf(t)}%`;
      axis.append(tick);
    }
    for (const g of state.gaps) {
      const n = h('div', { class: 'tl-gap', title: `Gap ${fmtTime(g.start)} – ${fmtTime(g.end)}${g.reason ? `: ${g.reason}` : ''}` });
      place(n, g.start, g.end);
      timeline.append(n);
    }
    // the sub-stream in the lower half, under the main stream's spans
    const bySub = [...state.segments].sort((a, b) => (b.quality === 'sub') - (a.quality === 'sub'));
    for (const s of bySub) {
      const sub = s.quality === 'sub';
      const n = h('div', { class: sub ? 'tl-seg tl-sub' : 'tl-seg', 'data-quality': s.quality || 'main',
        title: `${sub ? 'Sub-stream' : 'Main stream'} ${fmtTime(s.start)} – ${fmtTime(s.end)} ${s.path || ''}` });
      place(n, s.start, s.end);
      timeline.append(n);
    }
    for (const r of state.reads) {
      const m = h('button', { class: 'tl-mark tl-read', title: `${r.plate} at ${fmtTime(r.time)}`, 'aria-label': `Plate ${r.plate}`,
        onclick: (ev) => { ev.stopPropagation(); playRead(r); } });
      m.style.left = `${xOf(r.read && r.read.first_seen ? r.read.first_seen : r.time)}%`;
      timeline.append(m);
    }
    for (const a of state.alarms) {
      const m = h('button', { class: `tl-mark tl-alarm sev-${a.severity}`, title: `${a.type} (${a.severity}) at ${fmtTime(a.raised)}: ${a.message}`,
        'aria-label': `Alarm ${a.type}`, onclick: (ev) => { ev.stopPropagation(); playFrom(new Date(new Date(a.raised) - 10000)); } });
      m.style.left = `${xOf(a.raised)}%`;
      timeline.append(m);
    }
    timeline.append(selEl, hover, playhead);
    drawList();
  }

  function drawList() {
    clear(list);
    const rows = [
      ...state.reads.map((r) => ({ t: new Date(r.time), kind: 'read', text: r.plate, sub: `${r.read?.direction || ''} ${Math.round((r.read?.confidence || 0) * 100)}%`, go: () => playRead(r) })),
      ...state.alarms.map((a) => ({ t: new Date(a.raised), kind: `alarm sev-${a.severity}`, text: a.type, sub: a.message, go: () => playFrom(new Date(new Date(a.raised) - 10000)) })),
    ].sort((a, b) => b.t - a.t);
    list.append(h('h2', { text: 'In this range' }));
    if (!rows.length) list.append(h('div', { class: 'muted', text: 'No plate reads or alarms.' }));
    for (const r of rows.slice(0, 200)) {
      list.append(h('button', { class: `ev-row ev-${r.kind}`, onclick: r.go },
        h('span', { class: 'ev-time', text: fmtTime(r.t).slice(11) }), h('span', { class: 'ev-text', text: r.text }), h('span', { class: 'muted', text: r.sub, title: r.sub })));
    }
  }

  function playRead(r) {
    const first = new Date(r.read && r.read.first_seen ? r.read.first_seen : r.time);
    playFrom(new Date(first - 10000));
  }

  // playFrom plays from t to the end of the range (at most 24 h).
  function playFrom(t) {
    if (!state.camera) return;
    const end = new Date(Math.min(+state.to, +t + MAX_SPAN_MS, Date.now()));
    if (end <= t) { toast('Nothing after that moment yet.', 'error'); return; }
    state.playFrom = t;
    vstatus.textContent = `Loading from ${fmtTime(t)}…`;
    const cam = ctx.tree.camera(state.camera);
    if (cam && !playsNatively(cam.codec)) {
      // recorded in a codec this browser cannot play: the node transcodes
      // the range to H.264 as it is watched (seeking asks again)
      video.dataset.codec = 'h264';
      video.title = `Recorded in ${codecName(cam.codec)}: transcoded to H.264 by the node`;
      player.loadFile(transcodeUrl(state.camera, t.toISOString(), end.toISOString()), t);
      return;
    }
    video.dataset.codec = 'native';
    video.title = '';
    player.load(playUrl(state.camera, t.toISOString(), end.toISOString()), { startPosition: 0 });
  }

  // the drag selection: press, move, release; a press without a move plays
  let drag = null;
  timeline.addEventListener('pointerdown', (ev) => {
    if (ev.button !== 0 || ev.target.closest('.tl-mark')) return;
    drag = { x: ev.clientX, t: tOf(ev.clientX), moved: false };
    timeline.setPointerCapture(ev.pointerId);
  });
  timeline.addEventListener('pointermove', (ev) => {
    const t = tOf(ev.clientX);
    hover.hidden = false;
    hover.style.left = `${xOf(t)}%`;
    hover.dataset.time = fmtClock(t);
    if (!drag) return;
    if (Math.abs(ev.clientX - drag.x) > 4) drag.moved = true;
    if (drag.moved) {
      const [a, b] = t < drag.t ? [t, drag.t] : [drag.t, t];
      state.sel = { from: a, to: b };
      selEl.hidden = false;
      place(selEl, a, b);
    }
  });
  timeline.addEventListener('pointerleave', () => { hover.hidden = true; });
  timeline.addEventListener('pointerup', (ev) => {
    if (!drag) return;
    const d = drag;
    drag = null;
    if (!d.moved) {
      playFrom(d.t);
    } else {
      updateExport();
      toast(`Selected ${fmtTime(state.sel.from)} – ${fmtTime(state.sel.to)}; export takes the selection.`);
    }
  });
  timeline.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') {
      playFrom(state.from);
      ev.preventDefault();
    }
  });

  // exportPackage opens the export dialog on the range (or the selection)
  // with the current camera ticked.
  function exportPackage() {
    const r = state.sel || { from: state.from, to: state.to };
    openExportDialog({ cameras: ctx.tree.cameras(), chosen: state.camera ? [state.camera] : [], from: r.from, to: r.to });
  }

  function updateExport() {
    if (!roleAtLeast('operator')) return;
    const r = state.sel || { from: state.from, to: state.to };
    if (!state.camera || r.to - r.from > MAX_SPAN_MS) {
      exportLink.removeAttribute('href');
      exportLink.classList.add('disabled');
      exportLink.title = state.camera ? 'Export covers at most 24 h: select a shorter range' : 'Choose a camera first';
      return;
    }
    exportLink.classList.remove('disabled');
    exportLink.href = exportUrl(state.camera, r.from.toISOString(), r.to.toISOString());
    exportLink.title = `Download ${fmtTime(r.from)} – ${fmtTime(r.to)} as one MP4 (e)`;
  }

  // the playhead follows the wall-clock time of the frame on screen
  const ticker = setInterval(() => {
    const d = player.playingDate;
    if (d && player.state !== 'error') {
      playhead.hidden = !(d >= state.from && d <= state.to);
      playhead.style.left = `${xOf(d)}%`;
      if (player.state === 'playing' || video.paused) vstatus.textContent = `${video.paused ? 'Paused at' : 'Playing'} ${fmtTime(d)}`;
    }
  }, 500);

  fillCameras();
  load();

  return {
    el,
    title: 'Archive',
    openCamera(cam) {
      state.camera = cam.key;
      fillCameras();
      camSel.value = cam.key;
      load();
    },
    treeChanged() { if (fillCameras()) load(); },
    key(ev) {
      if (ev.key === ' ') { if (video.paused) video.play().catch(() => {}); else video.pause(); return true; }
      if (ev.key === 'ArrowLeft') { video.currentTime = Math.max(0, video.currentTime - 10); return true; }
      if (ev.key === 'ArrowRight') { video.currentTime += 10; return true; }
      if (ev.key === 'e' && exportLink.href && roleAtLeast('operator')) { exportLink.click(); return true; }
      if (ev.key === 'p' && roleAtLeast('operator')) { exportPackage(); return true; }
      return false;
    },
    unmount() {
      clearInterval(ticker);
      player.destroy();
    },
  };
}

function fmtDur(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60 ? `${s % 60} s` : ''}`.trim();
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)} h ${m % 60 ? `${m % 60} min` : ''}`.trim();
}
