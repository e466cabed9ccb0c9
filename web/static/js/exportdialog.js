// The export dialog: several cameras over a range, with the reason and a
// case number, made into a signed package by the node (POST /api/v1/exports),
// with its progress and the download once done. The package verifies with
// `kuzet export verify PACKAGE.zip --ca ca.pem`.

import { h, clear, toLocalInput, fromLocalInput, dateTimeInput } from './dom.js';
import { api } from './api.js';

const MAX_CAMERAS = 16;

// openExportDialog shows the dialog: cameras lists the tree's cameras
// ({key}), chosen the ones ticked at first, from/to the range.
export function openExportDialog({ cameras, chosen, from, to }) {
  const dlg = h('dialog', { class: 'dialog export-dialog', id: 'export-dialog', 'aria-label': 'Export package' });
  const boxes = cameras.map((c) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', value: c.key, checked: chosen.includes(c.key) }), ` ${c.key}`));
  const fromIn = dateTimeInput({ id: 'export-from', label: 'From', required: true, value: toLocalInput(from) });
  const toIn = dateTimeInput({ id: 'export-to', label: 'To', required: true, value: toLocalInput(to) });
  const reason = h('textarea', { id: 'export-reason', rows: '2', maxlength: '500', 'aria-required': 'true',
    placeholder: 'Why the video leaves the system (signed into the package and audited)' });
  const caseIn = h('input', { id: 'export-case', maxlength: '100', placeholder: 'e.g. KZ/2026-17' });
  const status = h('div', { class: 'export-status', id: 'export-status', role: 'status', 'aria-live': 'polite' });
  const bar = h('progress', { id: 'export-progress', max: '1', value: '0', hidden: true });
  const start = h('button', { type: 'submit', class: 'primary', id: 'export-start', text: 'Make package' });
  let timer = 0;

  function selected() {
    return boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
  }

  async function submit(ev) {
    ev.preventDefault();
    const cams = selected();
    const f = fromLocalInput(fromIn.value);
    const t = fromLocalInput(toIn.value);
    if (!cams.length) { status.textContent = 'Tick at least one camera.'; return; }
    if (cams.length > MAX_CAMERAS) { status.textContent = `At most ${MAX_CAMERAS} cameras in one package.`; return; }
    if (!f || !t || t <= f) { status.textContent = 'To must be after From.'; return; }
    if (!reason.value.trim()) { status.textContent = 'Say why the video is exported.'; reason.focus(); return; }
    start.disabled = true;
    status.textContent = 'Starting…';
    try {
      const job = await api('/api/v1/exports', { method: 'POST',
        body: { cameras: cams, from: f.toISOString(), to: t.toISOString(), reason: reason.value.trim(), case: caseIn.value.trim() } });
      follow(job);
    } catch (e) {
      status.textContent = `Not started: ${e.message}`;
      start.disabled = false;
    }
  }

  function show(job) {
    bar.hidden = false;
    bar.max = job.cameras.length;
    bar.value = job.cameras_done;
    const mb = (job.bytes / 1e6).toFixed(1);
    clear(status);
    if (job.state === 'done') {
      bar.value = bar.max;
      status.append(`Done: ${job.cameras.length - (job.missing || []).length} of ${job.cameras.length} cameras, ${(job.size / 1e6).toFixed(1)} MB, signed by this node. `,
        h('a', { class: 'button primary', id: 'export-download', href: job.url, download: '', text: 'Download package' }));
      if (job.missing && job.missing.length) status.append(h('div', { class: 'muted small', text: `Nothing recorded: ${job.missing.join('; ')}` }));
    } else if (job.state === 'failed') {
      status.textContent = `Failed: ${job.error}`;
      start.disabled = false;
    } else {
      status.textContent = job.state === 'queued' ? 'Waiting for another package to finish…'
        : `Exporting camera ${Math.min(job.cameras_done + 1, job.cameras.length)} of ${job.cameras.length}… ${mb} MB so far (a centre may first fetch the video from the site)`;
    }
  }

  function follow(job) {
    show(job);
    clearTimeout(timer);
    if (job.state === 'done' || job.state === 'failed') return;
    timer = setTimeout(async () => {
      try {
        follow(await api(`/api/v1/exports/${encodeURIComponent(job.id)}`));
      } catch (e) {
        status.textContent = `Progress unknown: ${e.message}; trying again`;
        timer = setTimeout(() => follow(job), 2000);
      }
    }, 1000);
  }

  dlg.append(h('form', { onsubmit: submit },
    h('h2', { text: 'Export package' }),
    h('p', { class: 'muted small', text: 'The node packs each camera\'s range as MP4 with a manifest of who exported what and why, signed by its key. Check a package with: kuzet export verify PACKAGE.zip --ca ca.pem' }),
    h('fieldset', { class: 'export-cameras' }, h('legend', { text: 'Cameras' }), boxes),
    h('div', { class: 'row' }, h('label', { class: 'field' }, 'From', fromIn), h('label', { class: 'field' }, 'To', toIn)),
    h('label', { class: 'field' }, 'Reason', reason),
    h('label', { class: 'field' }, 'Case number (optional)', caseIn),
    bar, status,
    h('div', { class: 'row end' }, h('button', { type: 'button', class: 'ghost', text: 'Close', onclick: () => dlg.close() }), start)));
  dlg.addEventListener('close', () => { clearTimeout(timer); dlg.remove(); });
  document.body.append(dlg);
  dlg.showModal();
  reason.focus();
  return dlg;
}
