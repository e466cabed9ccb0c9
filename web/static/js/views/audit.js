// Audit: who did what, newest first (administrators only; the node
// answers 403 to everyone else and the console says so).

import { h, clear, fmtTime, toLocalInput, fromLocalInput, dateTimeInput } from '../dom.js';
import { api } from '../api.js';

export function auditView(ctx, params) {
  const user = h('input', { id: 'audit-user', placeholder: 'user', value: params.get('user') || '', autocomplete: 'off' });
  const action = h('input', { id: 'audit-action', placeholder: 'action, e.g. login', value: params.get('action') || '', autocomplete: 'off' });
  const fromIn = dateTimeInput({ id: 'audit-from', label: 'From' });
  const toIn = dateTimeInput({ id: 'audit-to', label: 'To' });
  if (params.get('from')) fromIn.value = toLocalInput(new Date(params.get('from')));
  if (params.get('to')) toIn.value = toLocalInput(new Date(params.get('to')));
  const limit = h('select', { 'aria-label': 'Limit' }, ['100', '500', '1000'].map((n) => h('option', { value: n, text: `${n} entries` })));
  const body = h('div', { id: 'audit-body' });
  const filters = h('span', { class: 'toolbar' }, user, action,
    h('label', { class: 'field' }, 'From', fromIn), h('label', { class: 'field' }, 'To', toIn), limit,
    h('button', { type: 'submit', class: 'primary', text: 'Show' }));
  const el = h('section', { class: 'view-audit', 'aria-label': 'Audit' },
    h('form', { class: 'toolbar', onsubmit: (ev) => { ev.preventDefault(); load(); } }, h('h1', { text: 'Audit' }), filters),
    body);

  async function load() {
    const from = fromLocalInput(fromIn.value);
    const to = fromLocalInput(toIn.value);
    const p = { user: user.value.trim(), action: action.value.trim(), from: from || undefined, to: to || undefined, limit: limit.value };
    ctx.setParams({ user: p.user, action: p.action, from: from ? from.toISOString() : '', to: to ? to.toISOString() : '' });
    clear(body).append(h('div', { class: 'muted', text: 'Loading…' }));
    try {
      const list = await api('/api/v1/audit', { params: p });
      clear(body);
      const rows = Array.isArray(list) ? list : [];
      body.append(h('div', { class: 'muted', text: `${rows.length} entr${rows.length === 1 ? 'y' : 'ies'}, newest first.` }),
        h('div', { class: 'table-wrap' }, h('table', { class: 'data audit', id: 'audit-table' },
          h('thead', {}, h('tr', {}, ['Time', 'User', 'Role', 'Action', 'Object', 'Detail', 'Source', 'Node'].map((c) => h('th', { text: c })))),
          h('tbody', {}, rows.map((r) => h('tr', { class: r.error ? 'bad' : '', dataset: { action: r.action, user: r.user } },
            h('td', { text: fmtTime(r.time) }), h('td', { text: r.user }), h('td', { text: r.role || '' }),
            h('td', { class: 'mono', text: r.action }), h('td', { class: 'mono wrap', text: r.object || '' }),
            h('td', { class: 'wrap', text: r.error ? `unreadable: ${r.error}` : (r.detail || '') }), h('td', { text: r.source || '' }),
            h('td', { text: r.origin })))))));
    } catch (e) {
      clear(body);
      if (e.status === 403) {
        filters.hidden = true;
        body.append(h('div', { class: 'refused', id: 'audit-refused', role: 'alert' },
          h('h2', { text: 'Not permitted' }),
          h('p', { text: 'The audit log is for administrators. This node refused the request (403).' }),
          h('p', { class: 'muted', text: e.message })));
      } else if (e.status !== 401) {
        body.append(h('div', { class: 'notice notice-err', text: `Audit log unavailable: ${e.message}` }));
      }
    }
  }

  load();
  return { el, title: 'Audit', unmount() {} };
}
