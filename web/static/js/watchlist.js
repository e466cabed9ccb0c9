// The watch-list panel of the Plates view: the plates this node raises a
// watchlist_hit alarm for whenever one is read here or below, how often
// each matched, and (operators) adding and removing entries.

import { h, clear, fmtTime, toast } from './dom.js';
import { api, roleAtLeast } from './api.js';

export function watchlistPanel() {
  const count = h('span', { class: 'badge', id: 'watchlist-count', text: '…' });
  const tbody = h('tbody', {});
  const status = h('div', { class: 'muted small', id: 'watchlist-status', role: 'status', 'aria-live': 'polite' });
  const plate = h('input', { id: 'watch-plate', placeholder: 'Plate, e.g. 123ABC02', autocomplete: 'off', spellcheck: 'false', 'aria-label': 'Plate to watch' });
  const match = h('select', { id: 'watch-match', 'aria-label': 'Match' },
    h('option', { value: 'exact', text: 'exact' }), h('option', { value: 'prefix', text: 'prefix' }), h('option', { value: 'fuzzy', text: 'within one character' }));
  const severity = h('select', { id: 'watch-severity', 'aria-label': 'Severity' },
    h('option', { value: 'grave', text: 'grave' }), h('option', { value: 'medium', text: 'medium', selected: true }), h('option', { value: 'minor', text: 'minor' }));
  const reason = h('input', { id: 'watch-reason', placeholder: 'Why (shown in the alarm)', maxlength: '300', 'aria-label': 'Reason' });
  const add = h('form', { class: 'row watch-add', id: 'watch-add', onsubmit: (ev) => { ev.preventDefault(); addEntry(); } },
    plate, match, severity, reason, h('button', { type: 'submit', class: 'primary', text: 'Watch' }));
  const details = h('details', { class: 'watchlist', id: 'watchlist' },
    h('summary', {}, 'Watch-list ', count),
    h('p', { class: 'muted small', text: 'Every read of these plates, at this node or any site below it, raises an alarm here with the photo.' }),
    roleAtLeast('operator') ? add : null,
    status,
    h('table', { class: 'data compact', id: 'watchlist-table' },
      h('thead', {}, h('tr', {}, ['Plate', 'Match', 'Severity', 'Reason', 'Hits', 'Added', ''].map((c) => h('th', { text: c })))),
      tbody));

  async function load() {
    try {
      const list = await api('/api/v1/watchlist');
      render(list || []);
    } catch (e) {
      status.textContent = `Watch-list not loaded: ${e.message}`;
    }
  }

  function render(list) {
    count.textContent = String(list.length);
    clear(tbody);
    for (const e of list) {
      tbody.append(h('tr', { dataset: { id: e.id, plate: e.plate } },
        h('td', { class: 'plate-text', text: e.plate }),
        h('td', { text: e.match }),
        h('td', {}, h('span', { class: `sev sev-${e.severity}`, text: e.severity })),
        h('td', { class: 'wrap', text: e.reason }),
        h('td', { class: 'hits', text: String(e.hits) }),
        h('td', { class: 'muted small', text: `${fmtTime(e.added)}${e.user ? ` by ${e.user}` : ''}${e.expires ? `, until ${fmtTime(e.expires)}` : ''}` }),
        h('td', {}, roleAtLeast('operator') ? h('button', { class: 'small ghost', text: 'Remove', onclick: () => remove(e) }) : null)));
    }
    if (!list.length) tbody.append(h('tr', {}, h('td', { colspan: '7', class: 'muted', text: 'No plate is watched.' })));
  }

  async function addEntry() {
    try {
      const e = await api('/api/v1/watchlist', { method: 'POST',
        body: { plate: plate.value, match: match.value, severity: severity.value, reason: reason.value } });
      status.textContent = `Watching ${e.plate} (${e.match}).`;
      plate.value = '';
      reason.value = '';
      load();
    } catch (e) {
      status.textContent = `Not added: ${e.message}`;
    }
  }

  async function remove(e) {
    try {
      await api(`/api/v1/watchlist/${encodeURIComponent(e.id)}`, { method: 'DELETE' });
      toast(`${e.plate} is no longer watched.`);
      load();
    } catch (err) {
      status.textContent = `Not removed: ${err.message}`;
    }
  }

  load();
  return { el: details, reload: load };
}

// csvOf turns plate reads into CSV (RFC 4180), one row per read.
export function csvOf(reads, cameraKeyOf) {
  const cols = ['time', 'plate', 'camera', 'direction', 'country', 'confidence', 'read', 'corrected_from'];
  const esc = (v) => {
    const s = v === undefined || v === null ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const rows = reads.map((r) => [r.time, r.plate, cameraKeyOf(r.node, r.camera), r.read?.direction, r.read?.country,
    r.read?.confidence, r.id, r.corrected && !r.corrected.confirmed ? r.corrected.previous : ''].map(esc).join(','));
  return `${cols.join(',')}\r\n${rows.join('\r\n')}\r\n`;
}
