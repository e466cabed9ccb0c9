// The checkpoint's desk in the console: the mismatch queue with its
// three attempts, the investigations (blocked cards), and the barriers
// with the two permissions they wait for. Acts go to the site's API; the
// server decides who may do what and says why when it refuses.

import { h, fmtTime, toast } from '../dom.js';
import { api, roleAtLeast, session } from '../api.js';

function platesText(p) {
  return [p && p.tractor, p && p.trailer].filter(Boolean).join(' + ') || 'nothing read';
}

// reasonDialog asks for the reason of an act; it resolves the reason, or
// '' when cancelled.
export function reasonDialog(title, text, okLabel) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'dialog', 'aria-label': title });
    const input = h('input', { id: 'reason-input', required: true, maxlength: 500, placeholder: 'reason (kept in the audit log)', autocomplete: 'off' });
    let answer = '';
    dlg.append(h('form', { onsubmit: (ev) => { ev.preventDefault(); answer = input.value.trim(); dlg.close(); } },
      h('h2', { text: title }), h('p', { text }), input,
      h('div', { class: 'row end' }, h('button', { type: 'button', class: 'ghost', text: 'Cancel', onclick: () => dlg.close() }),
        h('button', { type: 'submit', class: 'primary', text: okLabel }))));
    dlg.addEventListener('close', () => { dlg.remove(); resolve(answer); });
    document.body.append(dlg);
    dlg.showModal();
    input.focus();
  });
}

// here reports whether a site's acts are this node's: cases are settled,
// exits granted, cards unblocked and barriers opened at the site itself.
function here(site) {
  return site === session.nodeId;
}

// act runs one request and says what came of it (said: the message made
// of the answer, when the answer tells more than that it was taken).
async function act(what, path, body, reload, said) {
  try {
    const res = await api(path, { method: 'POST', body: body || {} });
    toast(said ? said(res) : what, 'ok');
  } catch (e) {
    toast(`${what}: refused: ${e.message}`, 'error');
  }
  reload(true);
}

// caseCard is one open mismatch: what the card is bound to, what was read,
// the photo of the read, and the operator's tries.
function caseCard(c, reload) {
  const tractor = h('input', { class: 'mono', placeholder: 'tractor', value: (c.read && c.read.tractor) || '', autocomplete: 'off', 'aria-label': 'tractor plate' });
  const trailer = h('input', { class: 'mono', placeholder: 'trailer', value: (c.read && c.read.trailer) || '', autocomplete: 'off', 'aria-label': 'trailer plate' });
  const left = (c.attempts.length && c.attempts[0].of ? c.attempts[0].of : 3) - c.attempts.length;
  const path = `/api/v1/cases/${c.id}/attempts`;
  const tryIt = (action) => act(`${action} on card ${c.token}`, path,
    action === 'reread' ? { action } : { action, tractor: tractor.value.trim(), trailer: trailer.value.trim() }, reload, (res) => {
      const a = res.attempts[res.attempts.length - 1];
      if (res.state === 'resolved') return `Card ${c.token}: ${platesText(a.read)} matches; the case is settled.`;
      if (res.state === 'blocked') return `Card ${c.token} blocked after ${a.n} attempts: an investigation is opened.`;
      return `Card ${c.token}, attempt ${a.n} of ${a.of}: ${platesText(a.read)} does not match.`;
    });
  const photo = c.sighting ? h('img', { class: 'case-photo', alt: 'the read', src: `/api/v1/plates/${c.sighting}/crop.jpg`, onerror: (ev) => ev.target.remove() }) : '';
  const canAct = roleAtLeast('operator') && here(c.site);
  return h('div', { class: 'case card', dataset: { case: c.id, token: c.token, attempts: String(c.attempts.length) } },
    h('div', { class: 'row' }, h('strong', { text: `Card ${c.token}` }), h('span', { class: 'muted', text: ` at ${c.zone}, ${fmtTime(c.opened)}, ${c.site}` })),
    h('div', {}, h('span', { text: 'Bound to ' }), h('span', { class: 'mono', text: platesText(c.bound) }),
      h('span', { text: ' · read here ' }), h('span', { class: 'mono mismatch', text: platesText(c.read) })),
    photo,
    c.attempts.length ? h('ol', { class: 'attempts' }, c.attempts.map((a) => h('li', {
      text: `${a.action} ${platesText(a.read)} by ${a.user}: ${a.ok ? 'matches' : 'does not match'}` }))) : '',
    canAct ? h('div', { class: 'row' },
      h('button', { type: 'button', class: 'case-reread', text: 'Re-read', onclick: () => tryIt('reread') }),
      tractor, trailer,
      h('button', { type: 'button', class: 'case-correct', text: 'Correct the read', onclick: () => tryIt('correct') }),
      h('button', { type: 'button', class: 'case-manual', text: 'Entered by hand', onclick: () => tryIt('manual') }),
      h('span', { class: 'muted case-left', text: `${left} attempt${left === 1 ? '' : 's'} left` })) : '');
}

export function casesPanel(open, blocked, reload) {
  const out = [];
  out.push(open.length ? h('div', { id: 'cases-open' }, open.map((c) => caseCard(c, reload)))
    : h('div', { class: 'muted', id: 'cases-open', text: 'No card mismatch waiting.' }));
  if (blocked.length) {
    out.push(h('h3', { text: 'Investigations (blocked cards)' }), h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'cases-blocked-table' },
      h('thead', {}, h('tr', {}, ['Card', 'Zone', 'Bound to', 'Attempts', 'Opened', 'Site', ''].map((t) => h('th', { text: t })))),
      h('tbody', {}, blocked.map((c) => h('tr', { dataset: { case: c.id, token: c.token } },
        h('td', { class: 'mono', text: c.token }), h('td', { text: c.zone }), h('td', { class: 'mono', text: platesText(c.bound) }),
        h('td', { text: c.attempts.map((a) => `${a.action} ${platesText(a.read)}`).join('; ') }),
        h('td', { text: fmtTime(c.opened) }), h('td', { text: c.site }),
        h('td', {}, c.unblocked ? h('span', { class: 'muted', text: `unblocked by ${c.unblocked.user}: ${c.unblocked.reason}` })
          : roleAtLeast('admin') && here(c.site) ? h('button', { type: 'button', class: 'token-unblock', text: 'Unblock…', onclick: async () => {
            const reason = await reasonDialog(`Unblock card ${c.token}`, 'The card was blocked after its last failed attempt. Say why it may be used again.', 'Unblock');
            if (reason) act(`card ${c.token} unblocked`, `/api/v1/tokens/${encodeURIComponent(c.token)}/unblock`, { reason }, reload);
          } }) : '')))))));
  }
  return out;
}

const PARTIES = [['customs', 'Customs'], ['owner', 'Site owner']];

export function barriersPanel(barriers, reload) {
  if (!barriers.length) return h('div', { class: 'muted', text: 'No barrier.' });
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'barriers-table' },
    h('thead', {}, h('tr', {}, ['Barrier', 'State', 'Vehicle', 'Permissions', 'Why', 'Last opened', 'Site', ''].map((t) => h('th', { text: t })))),
    h('tbody', {}, barriers.map((b) => h('tr', { dataset: { barrier: b.id, state: b.state, site: b.site } },
      h('td', { text: `${b.id} (${b.zone || '—'})` }),
      h('td', {}, h('span', { class: `barrier-state barrier-${b.state}`, text: b.state })),
      h('td', { class: 'mono', text: b.visit ? platesText(b.read) : '—' }),
      h('td', { text: b.state === 'waiting' ? PARTIES.map(([p, name]) => `${name} ${(b.missing || []).includes(p) ? '✗' : '✓'}`).join(' · ') : '—' }),
      h('td', { text: b.why || '' }),
      h('td', { text: b.last_opened ? `${fmtTime(b.last_opened)}${b.manual ? ' (by hand)' : ''}` : '—' }),
      h('td', { text: b.site }),
      h('td', {}, roleAtLeast('admin') && here(b.site) ? h('button', { type: 'button', class: 'barrier-open', text: 'Open by hand…', onclick: async () => {
        const reason = await reasonDialog(`Open ${b.id} by hand`, 'The barrier opens without the two permissions. Say why.', 'Open');
        if (reason) act(`${b.id} opened by hand`, `/api/v1/barriers/${encodeURIComponent(b.id)}/open`, { reason }, reload);
      } }) : ''))))));
}

// exitCell shows a visit's card and exit permissions, with the button a
// party's officer grants with (the server knows whose key the caller holds).
export function exitCell(v, reload) {
  const granted = v.exit || {};
  const marks = PARTIES.map(([p, name]) => `${name} ${granted[p] ? '✓' : '…'}`).join(' · ');
  return h('td', { class: 'exit-cell' }, h('span', { text: `${v.token ? `card ${v.token} · ` : ''}${marks}` }),
    roleAtLeast('operator') && here(v.site) && !(granted.customs && granted.owner) ? h('button', { type: 'button', class: 'exit-grant small', text: 'Grant exit',
      onclick: () => act(`exit of ${v.tractor || v.trailer} granted`, `/api/v1/visits/${v.id}/exit`, {}, reload) }) : '');
}

// CHECKPOINT_ALARMS are the alarm types of the crossing's process.
const CHECKPOINT_ALARMS = /^(violation_|token_blocked$|dwell_exceeded$|barrier_unreachable$|reader_silent$)/;

// violationsPanel lists the crossing's violations and alarms, newest
// first (site: only that site's); the alarm console acts on them.
export function violationsPanel(alarms, site) {
  const rows = alarms.filter((a) => CHECKPOINT_ALARMS.test(a.type) && (!site || a.origin === site))
    .sort((a, b) => new Date(b.raised) - new Date(a.raised)).slice(0, 20);
  if (!rows.length) return h('div', { class: 'muted', text: 'No violation.' });
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'violations-table' },
    h('thead', {}, h('tr', {}, ['Severity', 'Type', 'What', 'Raised', 'State', 'Site'].map((t) => h('th', { text: t })))),
    h('tbody', {}, rows.map((a) => h('tr', { dataset: { type: a.type, severity: a.severity, site: a.origin } },
      h('td', {}, h('span', { class: `sev sev-${a.severity}`, text: a.severity })),
      h('td', { text: a.type.replace(/^violation_/, '').replaceAll('_', ' ') }),
      h('td', { text: a.message }),
      h('td', { text: fmtTime(a.raised) }),
      h('td', {}, h('a', { href: `#/alarms?state=`, text: a.state })),
      h('td', { text: a.origin }))))));
}
