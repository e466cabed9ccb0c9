// The live feed of plate reads in the Plates view: every read stored at
// this node (its own and, at a centre, every site's) as it arrives, newest
// first, polled every 2 s while the panel is open; a click opens the read.

import { h, clear, fmtTime } from './dom.js';
import { plateImage, cameraKeyOf } from './api.js';

const KEEP = 50;
const EVERY_MS = 2000;

export function plateFeed({ onOpen }) {
  const list = h('tbody', {});
  const status = h('span', { class: 'muted small', id: 'plate-feed-status', text: '' });
  const panel = h('details', { class: 'watchlist', id: 'plate-feed' },
    h('summary', {}, 'Live reads ', status),
    h('table', { class: 'data compact plates', id: 'plate-feed-table' },
      h('thead', {}, h('tr', {}, ['', 'Plate', 'Time', 'Camera', 'Conf.'].map((c) => h('th', { text: c })))),
      list));
  let reads = [];
  let after = '-2000';
  let timer = 0;
  let stopped = false;

  async function poll() {
    timer = 0;
    if (stopped || !panel.open) return;
    try {
      const res = await fetch(`/api/v1/plates?after=${encodeURIComponent(after)}&limit=200`, { credentials: 'same-origin', cache: 'no-store' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const got = await res.json();
      after = res.headers.get('X-Kuzet-Next-After') || after;
      if (got.length) {
        reads = [...got.reverse(), ...reads].slice(0, KEEP);
        render();
      }
      status.textContent = `${reads.length} newest · updated ${fmtTime(new Date()).slice(11)}`;
    } catch (e) {
      status.textContent = `not updated: ${e.message}; trying again`;
    }
    if (!stopped && panel.open) timer = setTimeout(poll, EVERY_MS);
  }

  function render() {
    clear(list);
    for (const r of reads) {
      list.append(h('tr', { tabindex: '0', dataset: { id: r.id, plate: r.plate }, onclick: () => onOpen(r),
        onkeydown: (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); onOpen(r); } } },
      h('td', { class: 'thumb' }, h('img', { src: plateImage(r.id, 'crop'), alt: '', loading: 'lazy', width: 96, height: 28,
        onerror: (ev) => ev.target.replaceWith(h('span', { class: 'muted small', text: 'no photo' })) })),
      h('td', { class: 'plate' }, h('span', { class: 'plate-text', text: r.plate })),
      h('td', { text: fmtTime(r.time) }),
      h('td', { text: cameraKeyOf(r.node, r.camera) }),
      h('td', { class: 'num', text: r.read && r.read.confidence ? `${Math.round(r.read.confidence * 100)}%` : '' })));
    }
  }

  panel.addEventListener('toggle', () => {
    if (panel.open && !timer) poll();
  });
  return {
    el: panel,
    stop() { stopped = true; clearTimeout(timer); },
  };
}
