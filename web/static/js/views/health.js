// Health: every node at a glance, worst first — asked now through the
// links (GET /api/v1/sites/health): cameras streaming and recording, the
// lowest frame rate, the bitrate, how far back the archive reaches, the
// disk, the uplink, its analytics plugins, and the tree's link health
// (failed requests). Each node opens to its cameras and plugins. It
// refreshes every 15 s while shown.

import { h, clear, fmtAgo } from '../dom.js';
import { api } from '../api.js';
import { linkWords, failedWords } from '../health.js';

const EVERY_MS = 15000;

function days(t) {
  if (!t || new Date(t).getFullYear() < 2000) return '—';
  const d = (Date.now() - new Date(t)) / 86400000;
  return d < 1 ? `${Math.max(0, Math.round(d * 24))} h` : `${d.toFixed(1)} d`;
}

function gb(b) { return `${(b / 1e9).toFixed(b < 1e10 ? 1 : 0)} GB`; }

// judge sums a node up: a score (higher is worse) and what is wrong, in words.
export function judge(row, tree) {
  const wrong = [];
  let score = 0;
  const n = tree;
  if (row.error) { wrong.push(`does not answer: ${row.error}`); score += 100; }
  if (n && n.status === 'offline') { wrong.push('offline'); score += 100; }
  const hl = (n && n.health) || {};
  if (hl.failed) { wrong.push(`${hl.failed} failed requests`); score += 10 + hl.failed; }
  const st = row.status;
  if (st) {
    const down = st.cameras.filter((c) => c.state !== 'streaming' && c.state !== 'disabled');
    const notRec = st.cameras.filter((c) => c.state === 'streaming' && !c.recording);
    if (down.length) { wrong.push(`${down.length} camera${down.length > 1 ? 's' : ''} down`); score += 20 * down.length; }
    if (notRec.length) { wrong.push(`${notRec.length} not recording`); score += 30 * notRec.length; }
    const slow = st.cameras.filter((c) => c.state === 'streaming' && c.fps > 0 && c.fps < 3);
    if (slow.length) { wrong.push(`${slow.length} below 3 fps`); score += 5 * slow.length; }
    if (st.disk && st.disk.free_bytes < st.disk.floor_bytes * 1.2) { wrong.push('disk at its floor'); score += 15; }
    if (st.uplink && !st.uplink.connected) { wrong.push('uplink down'); score += 40; }
    if (st.uplink && st.uplink.backlog > 1000) { wrong.push(`${st.uplink.backlog} events not sent up`); score += 5; }
    for (const p of st.plugins || []) {
      // a remote plugin is connected, waiting or disconnected; failed when away too long
      if (p.state === 'failed') { wrong.push(p.remote ? `plugin ${p.name} away` : `plugin ${p.name} keeps dying`); score += 10; }
      else if (p.state !== 'running' && p.state !== 'connected') { wrong.push(`plugin ${p.name} ${p.state}`); score += 3; }
    }
  }
  return { score, wrong };
}

export function healthView(ctx) {
  const body = h('tbody', {});
  const summary = h('div', { class: 'muted', id: 'health-summary', text: 'Asking every node…' });
  const el = h('section', { class: 'view-health', 'aria-label': 'Health' },
    h('div', { class: 'toolbar' }, h('h1', { text: 'Health' }), summary,
      h('button', { class: 'ghost', text: 'Refresh', onclick: () => load() })),
    h('table', { class: 'data health-table', id: 'health-table' },
      h('thead', {}, h('tr', {}, ['Node', 'What is wrong', 'Cameras', 'Recording', 'Lowest fps', 'Bitrate', 'Archive reaches back', 'Disk free', 'Uplink', 'Link here']
        .map((c) => h('th', { text: c })))),
      body));
  const open = new Set();
  let last = [];
  let timer = 0;
  let gone = false;

  async function load() {
    clearTimeout(timer);
    try {
      const rows = await api('/api/v1/sites/health', { timeout: 30000 });
      render(rows || []);
    } catch (e) {
      summary.textContent = `Not loaded: ${e.message}`;
    }
    if (!gone) timer = setTimeout(load, EVERY_MS);
  }

  function render(rows) {
    const tree = new Map(ctx.tree.nodes().map(({ node }) => [node.id, node]));
    const judged = rows.map((r) => ({ r, n: tree.get(r.node), ...judge(r, tree.get(r.node)) }));
    judged.sort((a, b) => b.score - a.score || a.r.node.localeCompare(b.r.node));
    clear(body);
    let bad = 0;
    for (const { r, n, score, wrong } of judged) {
      if (score > 0) bad++;
      const st = r.status;
      const cams = st ? st.cameras : [];
      const streaming = cams.filter((c) => c.state === 'streaming').length;
      const recording = cams.filter((c) => c.recording).length;
      const fps = cams.filter((c) => c.state === 'streaming').map((c) => c.fps);
      const rate = cams.reduce((s, c) => s + (c.bitrate_kbps || 0), 0);
      const oldest = cams.map((c) => c.oldest_segment).filter(Boolean).sort()[0];
      const row = h('tr', { class: `node-row ${score >= 100 ? 'status-offline' : score > 0 ? 'status-degraded' : 'status-online'}`,
        dataset: { node: r.node, score: String(score) }, tabindex: '0', onclick: () => toggle(r.node),
        onkeydown: (ev) => { if (ev.key === 'Enter') toggle(r.node); } },
      h('td', { class: 'node-name', text: `${open.has(r.node) ? '▾' : '▸'} ${r.node}` }),
      h('td', { class: `wrap ${score > 0 ? 'st-offline' : 'st-online'}`, text: wrong.length ? wrong.join('; ') : 'all well' }),
      h('td', { text: st ? `${streaming} of ${cams.length} streaming` : '—' }),
      h('td', { text: st ? `${recording} of ${cams.length}` : '—' }),
      h('td', { class: 'num', text: fps.length ? Math.min(...fps).toFixed(1) : '—' }),
      h('td', { class: 'num', text: st ? `${(rate / 1000).toFixed(1)} Mbit/s` : '—' }),
      h('td', { text: st ? days(oldest) : '—' }),
      h('td', { text: st && st.disk ? `${gb(st.disk.free_bytes)} of ${gb(st.disk.total_bytes)}` : '—' }),
      h('td', { text: st && st.uplink ? (st.uplink.connected ? `${st.uplink.parent || 'up'} · ${st.uplink.rtt_ms.toFixed(0)} ms${st.uplink.backlog ? ` · ${st.uplink.backlog} queued` : ''}` : 'down') : '—' }),
      h('td', { class: 'wrap muted small', text: n ? `${linkWords(n)}${n.health && n.health.failed ? `; ${failedWords(n.health)}` : ''}` : '' }));
      body.append(row);
      if (open.has(r.node)) {
        for (const c of cams) {
          body.append(h('tr', { class: 'cam-row', dataset: { camera: c.id } },
            h('td', { class: 'cam-name', text: `   ${c.id}` }),
            h('td', { class: 'wrap muted', text: c.state === 'streaming' ? (c.recording ? '' : 'not recording') : `${c.state}${c.reason ? `: ${c.reason}` : ''}` }),
            h('td', { text: c.state }),
            h('td', { text: c.recording ? (c.recording_sub ? 'sub-stream (main on events)' : 'yes') : 'no' }),
            h('td', { class: 'num', text: c.fps.toFixed(1) }),
            h('td', { class: 'num', text: `${(c.bitrate_kbps / 1000).toFixed(2)} Mbit/s` }),
            h('td', { text: days(c.oldest_segment) }),
            h('td', { class: 'muted small', text: c.last_segment ? `last segment ${fmtAgo(c.last_segment)}` : '' }),
            h('td', {}), h('td', {})));
        }
        for (const p of (st && st.plugins) || []) {
          body.append(h('tr', { class: 'plugin-row', dataset: { plugin: p.name } },
            h('td', { class: 'cam-name', text: `   plugin ${p.name}` }),
            h('td', { class: `wrap ${p.state === 'running' ? 'muted' : 'st-offline'}`, text: p.last_error || '' }),
            h('td', { text: p.state }),
            h('td', { class: 'muted small', text: p.restarts ? `${p.restarts} restarts` : '' }),
            h('td', { class: 'num muted small', text: p.frames_dropped ? `${p.frames_dropped} frames dropped` : '' }),
            h('td', { class: 'num muted small', text: p.events_refused ? `${p.events_refused} events refused` : '' }),
            h('td', {}), h('td', {}), h('td', {}), h('td', {})));
        }
      }
    }
    summary.textContent = `${rows.length} nodes, ${bad} with something wrong (worst first) · asked ${new Date().toTimeString().slice(0, 8)}`;
    last = rows;
  }

  function toggle(node) {
    if (open.has(node)) open.delete(node); else open.add(node);
    render(last);
  }

  load();
  return { el, title: 'Health', treeChanged() { render(last); }, unmount() { gone = true; clearTimeout(timer); } };
}
