// Uncertain reads: plate reads below the node's confidence threshold
// that nobody has reviewed, newest first. Operators work the queue from
// the keyboard: j/k move, Enter confirms the read, typing replaces the
// plate and Enter then corrects it; a candidate is one click. Viewers see
// the queue read-only.

import { h, clear, fmtTime, isTyping } from '../dom.js';
import { api, roleAtLeast, plateImage, cameraKeyOf, splitReadId } from '../api.js';

const TIMEOUT_MS = 10000;
const POLL_MS = 15000;
const PAGE = 200;

const pct = (c) => `${Math.round((c || 0) * 100)} %`;
const norm = (s) => s.toUpperCase().replace(/[\s-]/g, '');

export function uncertainView(ctx, params) {
  const canAct = roleAtLeast('operator');
  let items = [];
  let total = 0;
  let below = null;
  let sel = 0;
  let busy = false;
  let timer = 0;
  let seq = 0;
  let camera = params.get('camera') || '';
  let alive = true;

  const count = h('span', { class: 'badge q-total', id: 'uncertain-total', text: '…' });
  const camIn = h('input', { type: 'search', id: 'uncertain-camera', placeholder: 'Camera, e.g. site-a/Camera1', autocomplete: 'off',
    spellcheck: 'false', 'aria-label': 'Only reads of this camera', value: camera });
  const form = h('form', { class: 'toolbar', onsubmit: (ev) => { ev.preventDefault(); setCamera(camIn.value.trim()); } },
    h('h1', { text: 'Uncertain reads' }), count, camIn,
    h('button', { type: 'submit', class: 'ghost', text: 'Refresh', id: 'uncertain-refresh' }),
    h('span', { class: 'muted hint', text: canAct ? 'j/k move · Enter confirm · type to edit, Enter correct · F2 edit in place · Space photo · Esc undo'
      : 'j/k move · Space photo' }));
  const error = h('div', { class: 'notice notice-err', id: 'uncertain-error', role: 'alert', hidden: true });
  const status = h('div', { class: 'result', id: 'uncertain-status', role: 'status' });
  const summary = h('div', { class: 'muted', id: 'uncertain-summary', text: 'Loading the queue…' });
  const list = h('div', { class: 'queue', id: 'uncertain-list', role: 'listbox', 'aria-label': 'Uncertain reads' });
  const el = h('section', { class: 'view-uncertain', 'aria-label': 'Uncertain reads' }, form,
    canAct ? null : h('div', { class: 'notice', id: 'uncertain-readonly', text: 'Read-only: operators confirm or correct reads.' }),
    error, summary, status, list);

  function showError(msg) {
    error.textContent = msg;
    error.hidden = !msg;
  }

  function setCamera(c) {
    camera = c;
    camIn.value = c;
    ctx.setParams({ camera });
    refresh();
  }

  async function refresh() {
    clearTimeout(timer);
    const my = ++seq;
    try {
      const q = await api('/api/v1/plates/uncertain', { params: { camera, limit: PAGE }, timeout: TIMEOUT_MS });
      if (my !== seq || !alive) return;
      if (!busy && !editing()) {
        apply(q);
        if (error.dataset.kind === 'load') { showError(''); delete error.dataset.kind; }
      }
    } catch (e) {
      if (my !== seq || !alive || e.status === 401) return;
      if (e.status === 404) summary.textContent = 'This node keeps no plate index: it has no uncertain-reads queue.';
      else {
        showError(`The queue could not be loaded: ${e.message}`);
        error.dataset.kind = 'load';
      }
    }
    if (alive) timer = setTimeout(refresh, POLL_MS);
  }

  // editing: the operator is typing a plate; a poll must not undo it.
  function editing() {
    const a = document.activeElement;
    return !!a && list.contains(a) && a.tagName === 'INPUT';
  }

  function apply(q) {
    const keep = items[sel] && items[sel].id;
    items = Array.isArray(q.items) ? q.items : [];
    total = q.total || 0;
    below = q.review_below;
    const i = items.findIndex((r) => r.id === keep);
    sel = i >= 0 ? i : Math.min(sel, Math.max(0, items.length - 1));
    if (ctx.uncertain && !camera) ctx.uncertain.set(total);
    render();
  }

  function paintCount() {
    count.textContent = `${total} waiting`;
    count.title = below == null ? '' : `reads below ${pct(below)} confidence that nobody has confirmed or corrected`;
    const where = camera ? ` of ${camera}` : '';
    summary.textContent = total
      ? `${total} read${total === 1 ? '' : 's'}${where} below ${pct(below)} wait${total === 1 ? 's' : ''} for review${items.length < total ? `; the newest ${items.length} are shown` : ''}.`
      : `No reads${where} wait for review (threshold ${pct(below)}).`;
  }

  function render() {
    const hadFocus = list.contains(document.activeElement);
    paintCount();
    clear(list);
    items.forEach((r, i) => list.append(card(r, i)));
    if (hadFocus || document.activeElement === document.body) focusSelected();
  }

  function card(r, i) {
    const rd = r.read || {};
    const key = cameraKeyOf(r.node, r.camera);
    const chosen = i === sel;
    const conf = rd.confidence || 0;
    const input = canAct ? h('input', { class: 'q-input', value: r.plate, maxlength: 12, autocomplete: 'off', spellcheck: 'false',
      'aria-label': `Plate of read ${r.id}`, tabindex: chosen ? '0' : '-1' }) : null;
    const correctBtn = canAct ? h('button', { type: 'button', class: 'q-correct', text: 'Correct', disabled: true, 'data-action': 'correct',
      onclick: (ev) => { ev.stopPropagation(); act(r, norm(input.value)); } }) : null;
    const confirmBtn = canAct ? h('button', { type: 'button', class: 'primary q-confirm', text: 'Confirm', 'data-action': 'confirm',
      title: `The read says ${r.plate}: confirm it (Enter)`, onclick: (ev) => { ev.stopPropagation(); act(r, r.plate); } }) : null;
    const node = h('div', { class: `qcard${chosen ? ' selected' : ''}`, role: 'option', 'aria-selected': String(chosen),
      tabindex: chosen ? '0' : '-1', dataset: { id: r.id }, onclick: () => select(i, false) },
    h('div', { class: 'q-photos' },
      h('img', { class: 'q-crop', src: plateImage(r.id, 'crop'), alt: `Plate crop of ${r.plate}`, onerror: photoMissing }),
      h('button', { type: 'button', class: 'q-overview', title: 'Enlarge the overview photo (Space)', 'aria-label': 'Enlarge the overview photo',
        onclick: (ev) => { ev.stopPropagation(); select(i, false); enlarge(r); } },
      h('img', { src: plateImage(r.id, 'overview'), alt: `Overview of ${r.plate}`, loading: 'lazy', onerror: photoMissing }))),
    h('div', { class: 'q-body' },
      h('div', { class: 'q-head' },
        h('span', { class: 'plate-big q-plate', text: r.plate }),
        h('span', { class: `q-conf ${conf < 0.5 ? 'conf-low' : 'conf-mid'}`, title: 'Confidence of the read', text: pct(conf) }),
        h('span', { class: 'muted small', text: [fmtTime(r.time), key, rd.country, rd.direction].filter(Boolean).join(' · ') })),
      candidates(r),
      canAct ? h('div', { class: 'q-edit row' }, input, confirmBtn, correctBtn) : null));
    if (input) {
      input.addEventListener('focus', () => select(i, false));
      input.addEventListener('input', () => {
        const pos = input.selectionStart;
        input.value = input.value.toUpperCase();
        input.setSelectionRange(pos, pos);
        const edited = norm(input.value) !== r.plate;
        node.classList.toggle('edited', edited);
        correctBtn.disabled = !edited || !norm(input.value);
        confirmBtn.disabled = edited; // an edit is corrected or undone, not confirmed away
      });
      input.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter') {
          ev.preventDefault();
          const v = norm(input.value);
          if (!v) { showError('Type the plate (letters and digits), or press Esc to keep the read.'); return; }
          act(r, v);
        } else if (ev.key === 'Escape') {
          ev.preventDefault();
          ev.stopPropagation();
          input.value = r.plate;
          input.dispatchEvent(new Event('input'));
          node.focus();
        }
      });
    }
    return node;
  }

  function photoMissing(ev) {
    const img = ev.target;
    img.replaceWith(h('span', { class: 'q-nophoto muted small', text: 'photo unavailable' }));
  }

  function candidates(r) {
    const cands = (r.read && r.read.candidates) || [];
    if (!cands.length) return null;
    return h('div', { class: 'q-cands' }, h('span', { class: 'muted small', text: 'Candidates' }),
      cands.map((c) => {
        const text = `${c.text} ${pct(c.confidence)}`;
        if (!canAct) return h('span', { class: 'cand', text });
        const same = c.text === r.plate;
        return h('button', { type: 'button', class: `cand${same ? ' cand-same' : ''}`, dataset: { plate: c.text },
          title: same ? `Confirm ${c.text}` : `Correct to ${c.text}`, text,
          onclick: (ev) => { ev.stopPropagation(); act(r, norm(c.text)); } });
      }));
  }

  function cardAt(i) {
    return list.children[i] || null;
  }

  function focusSelected() {
    const c = cardAt(sel);
    if (c) c.focus({ preventScroll: false });
  }

  function select(i, focus = true) {
    if (!items.length) return;
    const n = Math.max(0, Math.min(items.length - 1, i));
    if (n !== sel) {
      const old = cardAt(sel);
      if (old) {
        old.classList.remove('selected');
        old.setAttribute('aria-selected', 'false');
        old.tabIndex = -1;
        const inp = old.querySelector('.q-input');
        if (inp && inp.value !== items[sel].plate) { inp.value = items[sel].plate; inp.dispatchEvent(new Event('input')); }
        if (inp) inp.tabIndex = -1;
      }
      sel = n;
      const c = cardAt(sel);
      c.classList.add('selected');
      c.setAttribute('aria-selected', 'true');
      c.tabIndex = 0;
      const inp = c.querySelector('.q-input');
      if (inp) inp.tabIndex = 0;
    }
    if (focus) {
      const c = cardAt(sel);
      c.focus();
      c.scrollIntoView({ block: 'nearest' });
    }
  }

  function editSelected(replaceWith) {
    const c = cardAt(sel);
    const inp = c && c.querySelector('.q-input');
    if (!inp) return false;
    inp.focus();
    if (replaceWith !== undefined) {
      inp.value = replaceWith.toUpperCase();
      inp.dispatchEvent(new Event('input'));
    }
    const end = inp.value.length;
    inp.setSelectionRange(end, end);
    return true;
  }

  // act confirms the read when plate is what it says, or corrects it.
  async function act(r, plate) {
    if (!canAct || busy) return;
    const confirm = plate === r.plate;
    const [node, s] = splitReadId(r.id);
    const base = `/api/v1/plates/${encodeURIComponent(node)}/${encodeURIComponent(s)}`;
    const c = list.querySelector(`.qcard[data-id="${CSS.escape(r.id)}"]`);
    busy = true;
    if (c) c.classList.add('busy');
    status.className = 'result';
    status.textContent = confirm ? `Confirming ${r.plate}…` : `Correcting ${r.plate} → ${plate}…`;
    try {
      const res = confirm
        ? await api(`${base}/confirm`, { method: 'POST', body: {}, timeout: TIMEOUT_MS })
        : await api(`${base}/correction`, { method: 'POST', body: { plate }, timeout: TIMEOUT_MS });
      const k = res.correction || {};
      showError('');
      status.className = 'result ok';
      status.textContent = confirm ? `Confirmed ${k.plate} (read ${r.id}, event ${res.event}).`
        : `Corrected ${k.previous} → ${k.plate} (read ${r.id}, event ${res.event}).`;
      drop(r.id);
    } catch (e) {
      status.className = 'result';
      status.textContent = '';
      showError(`${confirm ? 'Not confirmed' : 'Not corrected'} (read ${r.id}): ${e.message}`);
      if (c) c.classList.remove('busy');
      busy = false;
      if (e.status === 404 || e.status === 409) { // reviewed or gone elsewhere: catch up
        focusSelected();
        refresh();
      }
      return;
    }
    busy = false;
  }

  // drop takes a reviewed read out and selects the one after it.
  function drop(id) {
    const i = items.findIndex((x) => x.id === id);
    if (i < 0) return;
    items.splice(i, 1);
    total = Math.max(0, total - 1);
    if (ctx.uncertain && !camera) ctx.uncertain.set(total);
    sel = Math.min(i, Math.max(0, items.length - 1));
    render();
    focusSelected();
    if (!items.length && total > 0) refresh(); // more than one page was waiting
  }

  function enlarge(r) {
    const dlg = h('dialog', { class: 'dialog photo-dialog', id: 'uncertain-photo', 'aria-label': `Overview photo of ${r.plate}` });
    const close = h('button', { type: 'button', class: 'primary', text: 'Close', onclick: () => dlg.close() });
    dlg.append(h('img', { src: plateImage(r.id, 'overview'), alt: `Overview of ${r.plate}`, id: 'uncertain-photo-img', onerror: photoMissing }),
      h('div', { class: 'row end' },
        h('span', { class: 'muted', text: `${r.plate} · ${fmtTime(r.time)} · ${cameraKeyOf(r.node, r.camera)} · ${pct(r.read && r.read.confidence)}` }), close));
    dlg.addEventListener('click', (ev) => { if (ev.target === dlg || ev.target.tagName === 'IMG') dlg.close(); });
    dlg.addEventListener('close', () => { dlg.remove(); focusSelected(); });
    document.body.append(dlg);
    dlg.showModal();
    close.focus();
  }

  // typeOver runs before the console's own shortcuts: in this view a
  // letter or digit starts typing the selected read's plate.
  function typeOver(ev) {
    if (!canAct || busy || ev.ctrlKey || ev.metaKey || ev.altKey || ev.shiftKey || isTyping(ev)) return;
    if (document.querySelector('dialog[open]') || !/^[a-z0-9]$/i.test(ev.key) || ev.key === 'j' || ev.key === 'k') return;
    if (!items.length) return;
    ev.preventDefault();
    ev.stopPropagation();
    editSelected(ev.key);
  }
  document.addEventListener('keydown', typeOver, true);

  refresh();

  return {
    el,
    title: 'Uncertain reads',
    openCamera(cam) { setCamera(cam); },
    key(ev) {
      if (!items.length) return false;
      // Enter and Space on a button press that button
      if ((ev.key === 'Enter' || ev.key === ' ') && ev.target.closest && ev.target.closest('button, a')) return false;
      switch (ev.key) {
        case 'j': case 'ArrowDown': select(sel + 1); return true;
        case 'k': case 'ArrowUp': select(sel - 1); return true;
        case 'Home': select(0); return true;
        case 'End': select(items.length - 1); return true;
        case ' ': enlarge(items[sel]); return true;
        case 'F2': return editSelected();
        case 'Enter':
          if (!canAct) return false;
          act(items[sel], items[sel].plate);
          return true;
        default: return false;
      }
    },
    unmount() {
      alive = false;
      clearTimeout(timer);
      document.removeEventListener('keydown', typeOver, true);
      const d = document.getElementById('uncertain-photo');
      if (d) d.remove();
    },
  };
}
