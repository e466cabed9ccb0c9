// Tree: every node this node knows of with its status, link health and
// cameras, in one table for a status round: is each site linked, how
// current is what arrived from it (last event, last segment), what is
// left to replicate, and which requests for its video failed.

import { h, clear, statusDot, cameraStatus, fmtTime } from '../dom.js';
import { linkWords, ageWords, backlogWords, failedWords, cameraProblem } from '../health.js';
import { roleAtLeast } from '../api.js';
import { discoverPanel } from '../discover.js';

export function treeView(ctx) {
  const body = h('div', { id: 'tree-body' });
  const summary = h('div', { class: 'muted', id: 'tree-summary' });
  const el = h('section', { class: 'view-tree', 'aria-label': 'Tree' },
    h('div', { class: 'toolbar' }, h('h1', { text: 'Tree' }), summary),
    roleAtLeast('engineer') ? discoverPanel(ctx.tree) : null, body);

  function render() {
    clear(body);
    const nodes = ctx.tree.nodes();
    if (!nodes.length) {
      body.append(h('div', { class: 'muted', text: 'Loading…' }));
      return;
    }
    const count = { online: 0, degraded: 0, offline: 0 };
    let cams = 0;
    let failed = 0;
    const rows = [];
    for (const { node: n, depth } of nodes) {
      count[n.status] = (count[n.status] || 0) + 1;
      const nameCell = h('td', {}, h('span', { class: 'node-name' }, statusDot(n.status), h('span', { text: n.id }), n.self ? h('span', { class: 'badge', text: 'this node' }) : null));
      nameCell.style.paddingLeft = `${0.5 + depth * 1.2}rem`;
      const hl = n.health || {};
      rows.push(h('tr', { class: `node-row status-${n.status}`, dataset: { node: n.id, failed: String(hl.failed || 0) } },
        nameCell,
        h('td', { class: `status-text st-${n.status}`, text: n.status }),
        h('td', { class: 'link', text: linkWords(n) }),
        h('td', { class: 'last-event', text: n.self ? 'now' : ageWords(hl.last_event), title: fmtTime(hl.last_event) }),
        h('td', { class: 'last-segment', text: n.self ? '' : ageWords(hl.last_segment), title: fmtTime(hl.last_segment) }),
        h('td', { class: 'backlog', text: n.self ? '' : backlogWords(hl.backlog) }),
        h('td', { class: `failed wrap${hl.failed ? ' st-offline' : ''}`, text: n.self ? '' : failedWords(hl) }),
        h('td', { text: String((n.cameras || []).length) }),
        h('td', {})));
      for (const c of n.cameras || []) {
        cams++;
        if (c.state === 'failed') failed++;
        const st = cameraStatus(c.state);
        const nc = h('td', {}, h('span', { class: 'cam-name' }, statusDot(st, c.state), h('span', { text: c.id })));
        nc.style.paddingLeft = `${1.7 + depth * 1.2}rem`;
        rows.push(h('tr', { class: `cam-row status-${st}`, dataset: { camera: c.key } },
          nc,
          h('td', { class: `status-text st-${st}`, text: c.state }),
          h('td', { class: 'muted wrap', colspan: '5', text: cameraProblem(c) || c.reason || '' }),
          h('td', {}),
          h('td', { class: 'actions' },
            h('button', { class: 'small', text: 'Live', onclick: () => ctx.openCamera(c, 'live') }),
            h('button', { class: 'small ghost', text: 'Archive', onclick: () => ctx.openCamera(c, 'archive') }))));
      }
    }
    const failing = nodes.filter(({ node }) => node.health && node.health.failed).length;
    summary.textContent = `${nodes.length} nodes: ${count.online} online, ${count.degraded} degraded, ${count.offline} offline` +
      `${failing ? `, ${failing} failing requests` : ''}; ${cams} cameras, ${failed} failed.`;
    body.append(h('table', { class: 'data tree-table', id: 'tree-table' },
      h('thead', {}, h('tr', {}, ['Node / camera', 'Status', 'Link / why', 'Last event', 'Last segment', 'To replicate', 'Failed requests', 'Cameras', '']
        .map((c) => h('th', { text: c })))),
      h('tbody', {}, rows)));
  }

  render();
  return { el, title: 'Tree', treeChanged: render, unmount() {} };
}
