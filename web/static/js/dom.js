// Small DOM helpers. Text always goes in through textContent, never as
// markup, so names and messages from the network cannot inject anything.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value') el.value = v;
      else if (k === 'checked' || k === 'disabled' || k === 'hidden' || k === 'selected') el[k] = !!v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

// put appends children, skipping null, undefined and false (which the
// DOM's own append would print).
export function put(el, ...children) {
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

// isTyping: keyboard shortcuts stay out of the way of text entry.
export function isTyping(ev) {
  const t = ev.target;
  if (!t || !t.tagName) return false;
  return t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName);
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// Times are shown in the workstation's zone, to the second.
export function fmtTime(t) {
  if (!t) return '';
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtClock(d) {
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtAgo(t, now = Date.now()) {
  if (!t) return 'never';
  const s = Math.round((now - new Date(t).getTime()) / 1000);
  if (s < 0) return 'now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

// Date and time fields speak local time without a zone, 24-hour:
// "2026-12-04 18:30:05" (a "T" between them is taken too).
export function toLocalInput(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

const LOCAL_TIME = /^\s*(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$/;

export function fromLocalInput(v) {
  const m = LOCAL_TIME.exec(v || '');
  if (!m) return null;
  const [y, mo, d, hh = '0', mm = '0', ss = '0'] = m.slice(1).map((x) => x ?? undefined);
  const t = new Date(Number(y), Number(mo) - 1, Number(d), Number(hh), Number(mm), Number(ss));
  // 2026-02-31 or 25:00 roll over in Date: refuse them instead
  if (t.getMonth() !== Number(mo) - 1 || t.getDate() !== Number(d) || t.getHours() !== Number(hh) || t.getMinutes() !== Number(mm)) return null;
  return t;
}

// dateTimeInput is a 24-hour date and time field whatever the browser's
// language (a datetime-local input shows 08:00 PM in English): a text
// field checked as it is typed, and a calendar button that sets its
// date. The wrapper's value is the field's.
export function dateTimeInput({ id, label, required = false, value = '' } = {}) {
  const text = h('input', {
    type: 'text', id, 'aria-label': label, required, class: 'datetime', inputmode: 'numeric', autocomplete: 'off',
    spellcheck: 'false', size: '19', maxlength: '19', placeholder: 'YYYY-MM-DD HH:MM:SS',
    title: 'Local date and 24-hour time, e.g. 2026-12-04 18:30:05',
  });
  const check = () => {
    const bad = text.value.trim() !== '' && !fromLocalInput(text.value);
    text.setCustomValidity(bad ? 'Write the date and 24-hour time as 2026-12-04 18:30:05' : '');
    text.classList.toggle('invalid', bad);
  };
  text.addEventListener('input', check);
  const cal = h('input', { type: 'date', tabindex: '-1', 'aria-hidden': 'true', class: 'datetime-cal' });
  cal.addEventListener('change', () => {
    if (!cal.value) return;
    const time = (LOCAL_TIME.exec(text.value) || [])[4] !== undefined ? text.value.trim().slice(11) : '00:00:00';
    text.value = `${cal.value} ${time}`;
    check();
    text.dispatchEvent(new Event('change', { bubbles: true }));
  });
  const pick = h('button', { type: 'button', class: 'datetime-pick', title: 'Pick the date', 'aria-label': `${label || 'Date'}: pick the date`, text: '▦',
    onclick: () => {
      const d = fromLocalInput(text.value);
      if (d) cal.value = toLocalInput(d).slice(0, 10);
      if (cal.showPicker) cal.showPicker(); else cal.click();
    } });
  const wrap = h('span', { class: 'datetime-field' }, text, pick, cal);
  Object.defineProperty(wrap, 'value', { get: () => text.value, set: (v) => { text.value = v; check(); } });
  wrap.input = text;
  if (value) wrap.value = value;
  return wrap;
}

let toastRoot = null;

// toast shows a short message; errors stay longer.
export function toast(msg, kind = 'info') {
  toastRoot ??= document.getElementById('toasts');
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status', text: msg });
  toastRoot.append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

export function statusDot(status, title) {
  return h('span', { class: `dot dot-${status || 'unknown'}`, title: title || status || 'unknown', 'aria-label': status || 'unknown' });
}

// cameraStatus maps a camera state to the console's three colours.
export function cameraStatus(state) {
  switch (state) {
    case 'streaming': return 'online';
    case 'failed': return 'offline';
    case 'stopped': case 'disabled': return 'idle';
    default: return 'degraded';
  }
}

// confirmDialog asks before an action; it resolves true on confirm.
export function confirmDialog(title, text, okLabel) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'dialog', 'aria-label': title });
    const ok = h('button', { type: 'submit', class: 'primary', text: okLabel });
    let answer = false;
    dlg.append(h('form', { onsubmit: (ev) => { ev.preventDefault(); answer = true; dlg.close(); } },
      h('h2', { text: title }), h('p', { text }),
      h('div', { class: 'row end' }, h('button', { type: 'button', class: 'ghost', text: 'Cancel', onclick: () => dlg.close() }), ok)));
    dlg.addEventListener('close', () => { dlg.remove(); resolve(answer); });
    document.body.append(dlg);
    dlg.showModal();
    ok.focus();
  });
}
