// Alarms: the node's alarm table, grave first, then newest; operators
// acknowledge with a comment and clear. At a centre or region an act on an
// alarm raised below travels down to the node that raised it. Each alarm
// of a camera opens that camera live, or its archive around the raise, in
// one click; the table filters by state, severity, site and kind.

import { h, clear, fmtTime, fmtAgo, toast, confirmDialog } from '../dom.js';
import { api, roleAtLeast, cameraKeyOf } from '../api.js';
import { sortAlarms } from '../alarmfeed.js';

const FILTERS = [['open', 'Open'], ['raised', 'Unacknowledged'], ['cleared', 'Cleared'], ['', 'All']];

// SNAPSHOT_RETRY_MS is how long a photo that failed to load stays as it is
// before the table asks for it again.
const SNAPSHOT_RETRY_MS = 15000;

// snapshots makes each alarm's evidence photo (a plate read's overview, a
// tamper alarm's frame), served by this node whatever the alarm's origin,
// and keeps it across the table's refreshes: a photo a centre pulls from
// a site over a slow link takes longer than a refresh, and a new element
// each time would start its load again (and never show it).
function snapshots() {
  const kept = new Map(); // alarm ID → { el, failed }
  return {
    of(a) {
      if (!a.evidence || !a.evidence.snapshot) return null;
      const k = kept.get(a.id);
      if (k && !(k.failed && Date.now() - k.failed > SNAPSHOT_RETRY_MS)) return k.el;
      const s = `/api/v1/alarms/${encodeURIComponent(a.id)}/snapshot.jpg`;
      const entry = { el: null, failed: 0 };
      const img = h('img', { class: 'alarm-snapshot', src: s, alt: `Snapshot of alarm ${a.id}`, loading: 'lazy' });
      img.addEventListener('error', () => { entry.failed = Date.now(); });
      entry.el = h('a', { href: s, target: '_blank', rel: 'noopener', class: 'alarm-snapshot-link', title: 'Open the photo', onclick: (ev) => ev.stopPropagation() }, img);
      kept.set(a.id, entry);
      return entry.el;
    },
    // keep forgets the photos of alarms no longer listed
    keep(ids) {
      for (const id of kept.keys()) if (!ids.has(id)) kept.delete(id);
    },
  };
}

export function alarmsView(ctx, params) {
  let filter = FILTERS.some(([v]) => v === params.get('state')) ? params.get('state') : 'open';
  let severity = ['grave', 'medium', 'minor'].includes(params.get('severity')) ? params.get('severity') : '';
  let origin = params.get('origin') || '';
  let kind = params.get('type') || '';
  // the sites and kinds met so far, for the filters' choices
  const origins = new Set(origin ? [origin] : []);
  const kinds = new Set(kind ? [kind] : []);
  let list = [];
  let selected = '';
  let timer = 0;
  let seq = 0;
  const canAct = roleAtLeast('operator');
  const photos = snapshots();

  const filterButtons = FILTERS.map(([v, label]) => h('button', { class: 'seg', 'aria-pressed': String(v === filter), text: label,
    onclick: () => { filter = v; paintFilters(); refresh(); } }));
  const sevSel = h('select', { 'aria-label': 'Severity', id: 'alarm-severity' },
    h('option', { value: '', text: 'every severity' }), ['grave', 'medium', 'minor'].map((s) => h('option', { value: s, text: s })));
  sevSel.value = severity;
  sevSel.addEventListener('change', () => { severity = sevSel.value; paintFilters(); refresh(); });
  const originSel = h('select', { 'aria-label': 'Site', id: 'alarm-origin' });
  originSel.addEventListener('change', () => { origin = originSel.value; paintFilters(); refresh(); });
  const kindSel = h('select', { 'aria-label': 'Kind', id: 'alarm-type' });
  kindSel.addEventListener('change', () => { kind = kindSel.value; paintFilters(); refresh(); });

  // fillChoices adds the values met to a filter's choices (any: the first)
  function fillChoices(sel, all, values, value, any) {
    for (const v of values) all.add(v);
    const want = ['', ...[...all].sort()];
    if (sel.options.length !== want.length) {
      clear(sel);
      sel.append(...want.map((v) => h('option', { value: v, text: v || any })));
    }
    sel.value = value;
  }
  const notice = h('div', { class: 'notice notice-warn', id: 'alarms-unavailable', hidden: true });
  const summary = h('div', { class: 'muted', id: 'alarm-summary' });
  const tbody = h('tbody', {});
  const table = h('table', { class: 'data alarms', id: 'alarm-table' },
    h('thead', {}, h('tr', {}, ['Severity', 'State', 'Type', 'Where', 'Message', 'Raised', 'Last seen', '#', 'Acknowledged', ''].map((c) => h('th', { text: c })))),
    tbody);
  const el = h('section', { class: 'view-alarms', 'aria-label': 'Alarms' },
    h('div', { class: 'toolbar' }, h('h1', { text: 'Alarms' }),
      h('div', { class: 'segmented', role: 'group', 'aria-label': 'State' }, filterButtons), sevSel, originSel, kindSel,
      h('span', { class: 'muted hint', text: canAct ? '↑/↓ select, a acknowledge, c clear' : '' })),
    notice, summary, h('div', { class: 'table-wrap' }, table));

  fillChoices(originSel, origins, [], origin, 'every site');
  fillChoices(kindSel, kinds, [], kind, 'every kind');

  function paintFilters() {
    filterButtons.forEach((b, i) => b.setAttribute('aria-pressed', String(FILTERS[i][0] === filter)));
    ctx.setParams({ state: filter, severity, origin, type: kind });
  }

  async function refresh() {
    clearTimeout(timer);
    const my = ++seq;
    try {
      const got = await api('/api/v1/alarms', { params: { state: filter, severity, origin, type: kind, limit: 1000 } });
      if (my !== seq) return;
      list = sortAlarms(Array.isArray(got) ? got : []);
      fillChoices(originSel, origins, list.map((a) => a.origin), origin, 'every site');
      fillChoices(kindSel, kinds, list.map((a) => a.type), kind, 'every kind');
      notice.hidden = true;
      table.hidden = false;
      render();
    } catch (e) {
      if (my !== seq) return;
      if (e.status === 404 || e.status === 405) {
        notice.textContent = 'Alarms unavailable: this node does not serve the alarm console (/api/v1/alarms).';
        notice.hidden = false;
        table.hidden = true;
        summary.textContent = '';
      } else if (e.status !== 401) {
        summary.textContent = `Alarms could not be loaded: ${e.message}`;
      }
    }
    timer = setTimeout(refresh, 4000);
  }

  function render() {
    const focusedId = tbody.contains(document.activeElement) ? document.activeElement.closest('tr')?.dataset.id : '';
    clear(tbody);
    photos.keep(new Set(list.map((a) => a.id)));
    const counts = { grave: 0, medium: 0, minor: 0 };
    for (const a of list) counts[a.severity] = (counts[a.severity] || 0) + 1;
    summary.textContent = `${list.length} alarm${list.length === 1 ? '' : 's'}: ${counts.grave} grave, ${counts.medium} medium, ${counts.minor} minor.`;
    if (!list.length) {
      tbody.append(h('tr', {}, h('td', { colspan: 10, class: 'muted', text: 'No alarms match.' })));
      return;
    }
    for (const a of list) {
      const where = a.camera ? `${a.origin} / ${a.camera}` : a.origin;
      const ackText = a.acked ? `${a.ack_user || ''} ${fmtTime(a.acked).slice(11)}${a.ack_comment ? `: ${a.ack_comment}` : ''}` : '';
      const actions = h('td', { class: 'actions' });
      if (a.camera) {
        const key = cameraKeyOf(a.origin, a.camera);
        const raised = new Date(a.raised);
        actions.append(
          h('button', { class: 'small ghost', text: 'Live', 'data-action': 'live', title: `Watch ${key} live`,
            onclick: (ev) => { ev.stopPropagation(); ctx.openCamera({ key }, 'live'); } }),
          h('a', { class: 'button small ghost', text: 'Archive', 'data-action': 'archive', title: `${key} around the raise`,
            href: `#/archive?camera=${encodeURIComponent(key)}&from=${encodeURIComponent(new Date(raised - 300000).toISOString())}` +
              `&to=${encodeURIComponent(new Date(+raised + 300000).toISOString())}&at=${encodeURIComponent(new Date(raised - 10000).toISOString())}`,
            onclick: (ev) => ev.stopPropagation() }));
      }
      if (canAct && !a.acked) actions.append(h('button', { class: 'small', text: 'Acknowledge', 'data-action': 'ack', onclick: (ev) => { ev.stopPropagation(); ack(a); } }));
      if (canAct && a.state !== 'cleared') actions.append(h('button', { class: 'small ghost', text: 'Clear', 'data-action': 'clear', onclick: (ev) => { ev.stopPropagation(); clearAlarm(a); } }));
      const row = h('tr', { class: `sev-${a.severity} state-${a.state}${a.id === selected ? ' selected' : ''}`, tabindex: '0',
        dataset: { id: a.id, type: a.type, camera: a.camera || '', state: a.state }, onclick: () => select(a.id),
        onfocus: () => select(a.id, false) },
      h('td', {}, h('span', { class: `sev sev-${a.severity}`, text: a.severity })),
      h('td', { class: 'state', text: a.state }),
      h('td', { text: a.type }),
      h('td', { text: where }),
      h('td', { class: 'msg', title: a.message }, a.message, photos.of(a)),
      h('td', { text: fmtTime(a.raised), title: fmtAgo(a.raised) }),
      h('td', { text: fmtAgo(a.last_seen) }),
      h('td', { class: 'num', text: String(a.count || 1) }),
      h('td', { class: 'ack', text: ackText }),
      actions);
      tbody.append(row);
    }
    if (focusedId) {
      const r = [...tbody.children].find((tr) => tr.dataset.id === focusedId);
      if (r) r.focus({ preventScroll: true });
    }
  }

  function select(id, focus = true) {
    selected = id;
    for (const tr of tbody.children) {
      tr.classList.toggle('selected', tr.dataset.id === id);
      if (focus && tr.dataset.id === id) tr.focus({ preventScroll: true });
    }
  }

  function ack(a) {
    const comment = h('input', { id: 'ack-comment', placeholder: 'What was done (kept with the alarm)', autocomplete: 'off', maxlength: 1000 });
    const err = h('div', { class: 'result err', role: 'alert' });
    const dlg = h('dialog', { class: 'dialog', id: 'ack-dialog', 'aria-label': 'Acknowledge alarm' });
    const ok = h('button', { type: 'submit', class: 'primary', text: 'Acknowledge', id: 'ack-confirm' });
    dlg.append(h('form', { onsubmit: async (ev) => {
      ev.preventDefault();
      ok.disabled = true;
      try {
        await api(`/api/v1/alarms/${encodeURIComponent(a.id)}/ack`, { method: 'POST', body: { comment: comment.value.trim() } });
        dlg.close();
        toast(`Acknowledged ${a.type}${a.camera ? ` on ${a.camera}` : ''}.`, 'ok');
        refresh();
        ctx.feed.poll();
      } catch (e) {
        err.textContent = `Not acknowledged: ${e.message}`;
        ok.disabled = false;
      }
    } },
    h('h2', { text: `Acknowledge ${a.type}` }),
    h('p', { class: 'muted', text: `${a.origin}${a.camera ? ` / ${a.camera}` : ''} — ${a.message}` }),
    comment, err,
    h('div', { class: 'row end' }, h('button', { type: 'button', class: 'ghost', text: 'Cancel', onclick: () => dlg.close() }), ok)));
    dlg.addEventListener('close', () => dlg.remove());
    document.body.append(dlg);
    dlg.showModal();
    comment.focus();
  }

  async function clearAlarm(a) {
    if (!await confirmDialog(`Clear ${a.type}`, `${a.origin}${a.camera ? ` / ${a.camera}` : ''}: clear it only when the condition is over.`, 'Clear')) return;
    try {
      await api(`/api/v1/alarms/${encodeURIComponent(a.id)}/clear`, { method: 'POST' });
      toast(`Cleared ${a.type}.`, 'ok');
      refresh();
      ctx.feed.poll();
    } catch (e) {
      toast(`Not cleared: ${e.message}`, 'error');
    }
  }

  refresh();

  return {
    el,
    title: 'Alarms',
    key(ev) {
      const rows = [...tbody.querySelectorAll('tr[data-id]')];
      if (!rows.length) return false;
      const i = rows.findIndex((r) => r.dataset.id === selected);
      if (ev.key === 'ArrowDown' || ev.key === 'j') { select((rows[i + 1] || rows[0]).dataset.id); return true; }
      if (ev.key === 'ArrowUp' || ev.key === 'k') { select((rows[i - 1] || rows[rows.length - 1]).dataset.id); return true; }
      const a = list.find((x) => x.id === selected);
      if (!a || !canAct) return false;
      if (ev.key === 'a' || ev.key === 'Enter') { if (!a.acked) ack(a); return true; }
      if (ev.key === 'c') { if (a.state !== 'cleared') clearAlarm(a); return true; }
      return false;
    },
    unmount() { clearTimeout(timer); seq++; },
  };
}
