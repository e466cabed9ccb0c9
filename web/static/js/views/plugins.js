// Plugins: the node's analytics plugins (docs/plugins.md) as it
// supervises them — state, uptime, restarts, frames and events, the last
// error — worst first. A row opens to the plugin's last output lines; an
// engineer restarts one by hand (audited). It refreshes every 5 s while
// shown. Below engineer the node answers 403 and the view says so.

import { h, clear, fmtTime, fmtClock } from '../dom.js';
import { api } from '../api.js';

const EVERY_MS = 5000;
const AFTER_RESTART_MS = 1000; // a restart takes effect within a second: show it then
const COLUMNS = ['Plugin', 'State', 'Up for', 'Restarts', 'Frames sent / dropped', 'Events stored / refused', 'Cameras', 'Last error', ''];
// worst first, as in Health: what needs an engineer comes to the top
// (a remote plugin is waiting, connected or disconnected instead)
const RANK = { failed: 0, restarting: 1, disconnected: 1, starting: 2, waiting: 2, stopped: 3, running: 4, connected: 4 };
const BADGE = { running: 'badge-ok', connected: 'badge-ok', failed: 'badge-grave', restarting: 'badge-warn', starting: 'badge-warn',
  disconnected: 'badge-warn', waiting: 'badge-warn' };
const UP = new Set(['running', 'connected']);

// span says a duration in the two largest units that matter.
export function span(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

// frames says what a plugin was sent and lost; the share is of the frames
// decoded for it, so a slow plugin shows how much it misses.
export function frames(sent = 0, dropped = 0) {
  const all = sent + dropped;
  const share = all ? ` (${((100 * dropped) / all).toFixed(1)} %)` : '';
  return `${sent} / ${dropped}${share}`;
}

export function pluginsView() {
  const body = h('tbody', {});
  const summary = h('div', { class: 'muted', id: 'plugins-summary', text: 'Asking the node…' });
  // no table until the node has answered: a refusal shows no empty one
  const table = h('div', { class: 'table-wrap', hidden: true }, h('table', { class: 'data plugins-table', id: 'plugins-table' },
    h('thead', {}, h('tr', {}, COLUMNS.map((c) => h('th', { text: c })))), body));
  const note = h('div', { id: 'plugins-note', hidden: true });
  const again = h('button', { class: 'ghost', text: 'Refresh', onclick: () => load() });
  const el = h('section', { class: 'view-plugins', 'aria-label': 'Plugins' },
    h('div', { class: 'toolbar' }, h('h1', { text: 'Plugins' }), summary, again), note, table);
  const open = new Set();
  const pending = new Set();
  const said = new Map(); // plugin → {ok, text}: a restart's outcome, kept across refreshes
  let last = [];
  let timer = 0;
  let gone = false;

  async function load(next = EVERY_MS) {
    clearTimeout(timer);
    try {
      last = (await api('/api/v1/plugins')) || [];
      render();
    } catch (e) {
      if (e.status === 403) return refused(e); // asking again will not change the role
      if (e.status !== 401) summary.textContent = `Not loaded: ${e.message}`;
    }
    if (!gone) timer = setTimeout(load, next);
  }

  function refused(e) {
    table.hidden = true;
    again.hidden = true;
    summary.textContent = '';
    clear(note).append(h('div', { class: 'refused', id: 'plugins-refused', role: 'alert' },
      h('h2', { text: 'Not permitted' }),
      h('p', { text: 'Plugins are for engineers and administrators. This node refused the request (403).' }),
      h('p', { class: 'muted', text: e.message })));
    note.hidden = false;
  }

  function render() {
    // a refresh rebuilds the rows: the focus stays on the same plugin
    const f = document.activeElement;
    const refocus = f && body.contains(f) && f.dataset.plugin
      ? `[data-plugin="${CSS.escape(f.dataset.plugin)}"]${f.tagName === 'BUTTON' ? ' button.restart' : ''}` : '';
    const rows = [...last].sort((a, b) => (RANK[a.state] ?? 2) - (RANK[b.state] ?? 2) || a.name.localeCompare(b.name));
    clear(body);
    for (const p of rows) body.append(...row(p));
    table.hidden = !rows.length;
    note.hidden = !!rows.length;
    if (!rows.length) {
      clear(note).append(h('div', { class: 'notice', id: 'plugins-empty' },
        'This node runs no analytics plugins. They are set under ', h('code', { text: 'plugins:' }),
        ' in its file or rolled out by the catalogue: see ', h('code', { text: 'docs/plugins.md' }), '.'));
    }
    const up = rows.filter((p) => UP.has(p.state)).length;
    const bad = rows.length - up;
    summary.textContent = `${rows.length} plugin${rows.length === 1 ? '' : 's'}, ${up} running${bad ? `, ${bad} not` : ''} · asked ${fmtClock(new Date())}`;
    if (refocus) body.querySelector(refocus)?.focus();
  }

  function row(p) {
    const isOpen = open.has(p.name);
    const up = UP.has(p.state) && p.started;
    const msg = said.get(p.name);
    const busy = pending.has(p.name);
    const tr = h('tr', { class: `plugin-row state-${p.state}`, tabindex: '0', 'aria-expanded': String(isOpen),
      dataset: { plugin: p.name, state: p.state, pid: p.pid ? String(p.pid) : '' },
      onclick: () => toggle(p.name), onkeydown: (ev) => { if (ev.key === 'Enter' && ev.target === tr) toggle(p.name); } },
    h('td', { class: 'plugin-name' }, `${isOpen ? '▾' : '▸'} ${p.name}`, p.pid ? h('span', { class: 'muted small', text: ` pid ${p.pid}` }) : null,
      p.remote ? h('span', { class: 'muted small', text: ` remote${p.address ? ` from ${p.address}` : ''}` }) : null),
    h('td', {}, h('span', { class: `badge plugin-state ${BADGE[p.state] || ''}`, text: p.state })),
    h('td', { class: 'plugin-up', title: p.started ? `started ${fmtTime(p.started)}` : 'never started', text: up ? span(Date.now() - new Date(p.started)) : '—' }),
    h('td', { class: 'num plugin-restarts', text: String(p.restarts || 0) }),
    h('td', { class: `num plugin-frames${p.frames_dropped ? ' st-degraded' : ''}`, text: frames(p.frames_sent, p.frames_dropped) }),
    h('td', { class: `num plugin-events${p.events_refused ? ' st-degraded' : ''}`, text: `${p.events_stored || 0} / ${p.events_refused || 0}` }),
    h('td', { class: 'plugin-cameras wrap', text: (p.cameras || []).join(', ') || '—' }),
    h('td', { class: 'plugin-error wrap st-offline', text: p.last_error || '' }),
    h('td', { class: 'plugin-actions' },
      // a remote plugin runs on its own machine: it is restarted there
      p.remote ? null : h('button', { type: 'button', class: 'small restart', disabled: busy, 'aria-busy': busy ? 'true' : null, dataset: { plugin: p.name },
        title: `Start ${p.name} again now (audited)`, text: busy ? 'Restarting…' : 'Restart',
        onclick: (ev) => { ev.stopPropagation(); restart(p.name); } }),
      msg ? h('div', { class: `restart-msg small ${msg.ok ? 'st-online' : 'st-offline'}`, role: msg.ok ? 'status' : 'alert', text: msg.text }) : null));
    if (!isOpen) return [tr];
    const lines = p.stderr || [];
    return [tr, h('tr', { class: 'plugin-output', dataset: { plugin: p.name } },
      h('td', { colspan: String(COLUMNS.length) },
        lines.length ? h('pre', { class: 'plugin-stderr', 'aria-label': `Last output of ${p.name}`, text: lines.join('\n') })
          : h('div', { class: 'muted small', text: 'No output from its last run.' })))];
  }

  async function restart(name) {
    pending.add(name);
    said.delete(name);
    render();
    let next = EVERY_MS;
    try {
      await api(`/api/v1/plugins/${encodeURIComponent(name)}/restart`, { method: 'POST' });
      said.set(name, { ok: true, text: `Restart asked at ${fmtClock(new Date())}` });
      next = AFTER_RESTART_MS;
    } catch (e) {
      said.set(name, { ok: false, text: `Not restarted: ${e.message}` });
    } finally {
      pending.delete(name);
    }
    if (!gone) load(next);
  }

  function toggle(name) {
    if (open.has(name)) open.delete(name); else open.add(name);
    render();
  }

  load();
  return { el, title: 'Plugins', unmount() { gone = true; clearTimeout(timer); } };
}
