// Plates: search every read this node knows (its own and its
// descendants'), exact, by prefix or within one edit; open a read for its
// photos, candidates and clip; operators correct a misread.

import { h, put, clear, fmtTime, toLocalInput, fromLocalInput, toast, dateTimeInput } from '../dom.js';
import { api, roleAtLeast, playUrl, plateImage, cameraKeyOf, splitReadId } from '../api.js';
import { watchlistPanel, csvOf } from '../watchlist.js';
import { plateFeed } from '../platefeed.js';
import { Player, hlsPresent, HLS_MISSING } from '../player.js';
import { sealPanel } from '../sealpanel.js';

const CLIP_BEFORE_MS = 3000; // a tight clip: the truck before is gone by then
const CLIP_AFTER_MS = 8000;

export function platesView(ctx, params) {
  let results = [];
  let current = null; // the read in the detail pane
  let player = null;
  let seq = 0;

  const input = h('input', { id: 'plate-search', type: 'search', placeholder: 'Plate, e.g. 123ABC02', autocomplete: 'off',
    spellcheck: 'false', 'aria-label': 'Plate', value: params.get('plate') || '' });
  const match = h('select', { id: 'plate-match', 'aria-label': 'Match' },
    h('option', { value: 'exact', text: 'exact' }), h('option', { value: 'prefix', text: 'prefix' }), h('option', { value: 'fuzzy', text: 'fuzzy (1 edit)' }));
  match.value = ['exact', 'prefix', 'fuzzy'].includes(params.get('match')) ? params.get('match') : 'prefix';
  const fromIn = dateTimeInput({ id: 'plate-from', label: 'From' });
  const toIn = dateTimeInput({ id: 'plate-to', label: 'To' });
  if (params.get('from')) fromIn.value = toLocalInput(new Date(params.get('from')));
  if (params.get('to')) toIn.value = toLocalInput(new Date(params.get('to')));
  const summary = h('div', { class: 'muted', id: 'plate-summary', text: 'Type a plate and press Enter. / comes back here from anywhere.' });
  const tbody = h('tbody', {});
  const table = h('table', { class: 'data plates', id: 'plate-results' },
    h('thead', {}, h('tr', {}, ['', 'Plate', 'Time', 'Camera', 'Dir.', 'Country', 'Conf.'].map((c) => h('th', { text: c })))),
    tbody);
  const detail = h('aside', { class: 'detail', id: 'plate-detail', hidden: true, 'aria-label': 'Plate read' });
  const csv = h('button', { type: 'button', id: 'plate-csv', text: 'CSV', disabled: true, title: 'Download these reads as CSV',
    onclick: () => downloadCSV() });
  const form = h('form', { class: 'toolbar search', onsubmit: (ev) => { ev.preventDefault(); search(); } },
    h('h1', { text: 'Plates' }), input, match,
    h('label', { class: 'field' }, 'From', fromIn), h('label', { class: 'field' }, 'To', toIn),
    h('button', { type: 'submit', class: 'primary', text: 'Search' }), csv);
  const watch = watchlistPanel();
  const feed = plateFeed({ onOpen: (r) => open(r) });
  const el = h('section', { class: 'view-plates', 'aria-label': 'Plates' }, form, feed.el, watch.el,
    h('div', { class: 'split' }, h('div', { class: 'results' }, summary, table), detail));

  async function search() {
    const plate = input.value.trim().toUpperCase();
    if (!plate) { toast('Type a plate (letters and digits).', 'error'); input.focus(); return; }
    const from = fromLocalInput(fromIn.value);
    const to = fromLocalInput(toIn.value);
    if (from && to && to <= from) { toast('To must be after From.', 'error'); return; }
    const p = { plate, match: match.value, from: from || undefined, to: to || undefined, limit: 200 };
    ctx.setParams({ plate, match: match.value, from: from ? from.toISOString() : '', to: to ? to.toISOString() : '' });
    const my = ++seq;
    summary.textContent = 'Searching…';
    try {
      const list = await api('/api/v1/plates', { params: p });
      if (my !== seq) return;
      results = Array.isArray(list) ? list : [];
      summary.textContent = results.length ? `${results.length} read${results.length === 1 ? '' : 's'} of ${plate} (${match.value})${results.length >= 200 ? ', newest 200 shown' : ''}.`
        : `No reads of ${plate} (${match.value}).`;
      render();
    } catch (e) {
      if (my !== seq) return;
      summary.textContent = `Search failed: ${e.message}`;
    }
  }

  // downloadCSV saves the reads found as a CSV file.
  function downloadCSV() {
    const blob = new Blob([csvOf(results, cameraKeyOf)], { type: 'text/csv' });
    const a = h('a', { href: URL.createObjectURL(blob), download: `plates-${input.value.trim().toUpperCase() || 'reads'}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  function render() {
    csv.disabled = !results.length;
    clear(tbody);
    for (const r of results) {
      const key = cameraKeyOf(r.node, r.camera);
      const row = h('tr', { tabindex: '0', dataset: { id: r.id }, class: current && current.id === r.id ? 'selected' : '',
        onclick: () => open(r), onkeydown: (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); open(r); } } },
      h('td', { class: 'thumb' }, h('img', { src: plateImage(r.id, 'crop'), alt: '', loading: 'lazy', width: 96, height: 28 })),
      h('td', { class: 'plate' }, h('span', { class: 'plate-text', text: r.plate }),
        r.corrected ? h('span', { class: 'muted small', text: r.corrected.confirmed ? ' confirmed' : ` was ${r.corrected.previous}` }) : null),
      h('td', { text: fmtTime(r.time) }),
      h('td', { text: key }),
      h('td', { text: r.read?.direction || '' }),
      h('td', { text: r.read?.country || '' }),
      h('td', { class: 'num', text: r.read ? `${Math.round(r.read.confidence * 100)}%` : '' }));
      tbody.append(row);
    }
  }

  function open(r) {
    current = r;
    for (const tr of tbody.children) tr.classList.toggle('selected', tr.dataset.id === r.id);
    if (player) { player.destroy(); player = null; }
    clear(detail);
    detail.hidden = false;
    const key = cameraKeyOf(r.node, r.camera);
    const rd = r.read || {};
    const first = new Date(rd.first_seen || r.time);
    const last = new Date(rd.last_seen || r.time);
    const clipFrom = new Date(first - CLIP_BEFORE_MS);
    const clipTo = new Date(+last + CLIP_AFTER_MS);
    const video = h('video', { controls: true, muted: true, playsinline: true, id: 'plate-clip' });
    const vstatus = h('div', { class: 'player-status', id: 'plate-clip-status', text: '' });
    const facts = [
      ['Time', fmtTime(r.time)], ['Seen', `${fmtTime(rd.first_seen)} – ${fmtTime(rd.last_seen).slice(11)}`],
      ['Camera', key], ['Direction', rd.direction || '—'], ['Country', rd.country || '—'],
      ['Confidence', rd.confidence !== undefined ? `${(rd.confidence * 100).toFixed(1)}%` : '—'], ['Frames', rd.frames ?? '—'],
      ['Archive file', rd.archive_link || rd.archive || '—'], ['Offset', rd.offset_seconds ? `${rd.offset_seconds.toFixed(1)} s` : '—'], ['Read', r.id],
    ];
    const seals = h('div', { class: 'seal-panel', id: 'seal-panel', hidden: true, 'aria-label': 'Seal' });
    sealPanel(seals, r.plate);
    const archiveHref = `#/archive?camera=${encodeURIComponent(key)}&from=${encodeURIComponent(new Date(first - 300000).toISOString())}` +
      `&to=${encodeURIComponent(new Date(+last + 300000).toISOString())}&at=${encodeURIComponent(clipFrom.toISOString())}`;
    put(detail,
      h('div', { class: 'detail-head' },
        h('span', { class: 'plate-big', id: 'plate-detail-plate', text: r.plate }),
        r.corrected ? h('span', { class: 'badge badge-warn', text: r.corrected.confirmed ? 'confirmed' : 'corrected' }) : null,
        h('button', { class: 'ghost close', 'aria-label': 'Close', text: '×', onclick: close })),
      r.corrected ? h('div', { class: 'notice', id: 'plate-correction-info',
        text: `${r.corrected.confirmed ? 'Confirmed' : `Corrected from ${r.corrected.previous}`} by ${r.corrected.user || 'unknown'}${r.corrected.comment ? `: “${r.corrected.comment}”` : ''}` }) : null,
      h('div', { class: 'photos' },
        h('a', { href: plateImage(r.id, 'overview'), target: '_blank', rel: 'noopener', title: 'Open the full photo' },
          h('img', { class: 'overview', src: plateImage(r.id, 'overview'), alt: `Overview of ${r.plate}`, id: 'plate-overview' })),
        h('img', { class: 'crop', src: plateImage(r.id, 'crop'), alt: `Plate ${r.plate}` })),
      h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: String(v) })])),
      seals,
      h('h2', {}, 'Clip ', h('span', { class: 'muted small', text: `${fmtTime(clipFrom).slice(11)} – ${fmtTime(clipTo).slice(11)}` }),
        ' ', h('a', { href: archiveHref, class: 'small', text: 'open in archive' })),
      hlsPresent() ? null : h('div', { class: 'notice notice-warn', text: HLS_MISSING }),
      h('div', { class: 'player' }, video, vstatus),
      candidates(rd.candidates || []),
      roleAtLeast('operator') ? correctionForm(r) : null);
    player = new Player(video, {
      live: false,
      onStatus: (s, d) => {
        vstatus.dataset.state = s;
        vstatus.textContent = s === 'playing' ? 'Playing' : s === 'loading' ? 'Loading clip… (a centre may first fetch it from the site)' : s === 'ended' ? 'End of clip.' : d || s;
      },
    });
    player.load(playUrl(key, clipFrom.toISOString(), clipTo.toISOString()), { startPosition: 0 });
  }

  function candidates(list) {
    if (!list.length) return null;
    return h('div', {},
      h('h2', { text: 'Candidates' }),
      h('table', { class: 'data compact', id: 'plate-candidates' },
        h('thead', {}, h('tr', {}, h('th', { text: 'Text' }), h('th', { text: 'Country' }), h('th', { text: 'Conf.' }))),
        h('tbody', {}, list.map((c) => h('tr', {},
          h('td', { class: 'plate-text', text: c.text }), h('td', { text: c.country || '' }),
          h('td', { class: 'num', text: `${(c.confidence * 100).toFixed(1)}%` }))))));
  }

  function correctionForm(r) {
    const plateIn = h('input', { id: 'correct-plate', placeholder: 'Correct plate', autocomplete: 'off', spellcheck: 'false', required: true, maxlength: 12 });
    const comment = h('input', { id: 'correct-comment', placeholder: 'Why (kept in the audit log)', autocomplete: 'off', maxlength: 500 });
    const result = h('div', { class: 'result', id: 'correct-result', role: 'status' });
    const btn = h('button', { type: 'submit', class: 'primary', text: 'Save correction' });
    return h('form', { class: 'correction', onsubmit: async (ev) => {
      ev.preventDefault();
      const plate = plateIn.value.trim().toUpperCase();
      if (!plate) return;
      const [node, sq] = splitReadId(r.id);
      btn.disabled = true;
      result.className = 'result';
      result.textContent = 'Saving…';
      try {
        const res = await api(`/api/v1/plates/${encodeURIComponent(node)}/${encodeURIComponent(sq)}/correction`,
          { method: 'POST', body: { plate, comment: comment.value.trim() } });
        const c = res.correction || {};
        result.className = 'result ok';
        result.textContent = `Corrected ${c.previous} → ${c.plate} by ${c.user || 'you'}; recorded as event ${res.event}.`;
        r.plate = c.plate;
        r.corrected = c;
        render();
        const big = detail.querySelector('.plate-big');
        if (big) big.textContent = c.plate;
        result.scrollIntoView({ block: 'nearest' });
      } catch (e) {
        result.className = 'result err';
        result.textContent = `Not saved: ${e.message}`;
        result.scrollIntoView({ block: 'nearest' });
      } finally {
        btn.disabled = false;
      }
    } },
    h('h2', { text: 'Correct this read' }), h('div', { class: 'row' }, plateIn, comment, btn), result);
  }

  function close() {
    if (player) { player.destroy(); player = null; }
    current = null;
    detail.hidden = true;
    for (const tr of tbody.children) tr.classList.remove('selected');
  }

  input.addEventListener('input', () => {
    const pos = input.selectionStart;
    input.value = input.value.toUpperCase();
    input.setSelectionRange(pos, pos);
  });

  if (input.value) search();

  return {
    el,
    title: 'Plates',
    focusSearch() { input.focus(); input.select(); },
    key(ev) {
      const rows = [...tbody.children];
      if (!rows.length) return false;
      const i = rows.indexOf(document.activeElement);
      if (ev.key === 'ArrowDown' || ev.key === 'j') { (rows[i + 1] || rows[0]).focus(); return true; }
      if (ev.key === 'ArrowUp' || ev.key === 'k') { (rows[i - 1] || rows[rows.length - 1]).focus(); return true; }
      if (ev.key === 'Escape' && current) { close(); return true; }
      return false;
    },
    unmount() {
      if (player) player.destroy();
      feed.stop();
    },
  };
}
