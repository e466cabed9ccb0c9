// Find cameras: an engineer asks this node, or a node below it (through
// the links), to look for ONVIF cameras on its network, describes one with
// its login, and adds it — to the catalogue when this node keeps one,
// otherwise as the lines for that node's file.

import { h, clear, toast } from './dom.js';
import { api, session } from './api.js';

export function discoverPanel(tree) {
  // the node whose network is searched: this one or one below
  const nodeSel = h('select', { id: 'discover-node', 'aria-label': 'Node' });
  const fillNodes = () => {
    const keep = nodeSel.value || session.nodeId;
    clear(nodeSel);
    const ids = tree ? tree.nodes().map(({ node, depth }) => [node.id, depth]) : [];
    if (!ids.length) ids.push([session.nodeId, 0]);
    for (const [id, depth] of ids) {
      nodeSel.append(h('option', { value: id, text: `${'  '.repeat(depth)}${id}${id === session.nodeId ? ' (this node)' : ''}` }));
    }
    nodeSel.value = ids.some(([id]) => id === keep) ? keep : session.nodeId;
  };
  const targets = h('input', { id: 'discover-targets', placeholder: 'host:3702, … (optional)', title: 'Addresses probed directly besides the multicast group' });
  const user = h('input', { id: 'discover-user', placeholder: 'camera login', autocomplete: 'off' });
  const password = h('input', { id: 'discover-password', type: 'password', placeholder: 'password', autocomplete: 'new-password' });
  const status = h('div', { class: 'muted', id: 'discover-status', role: 'status' });
  const found = h('div', { id: 'discover-found' });
  const detail = h('div', { id: 'discover-detail' });
  const go = h('button', { id: 'discover-go', class: 'primary', text: 'Discover', onclick: () => discover() });
  const el = h('details', { class: 'discover', id: 'discover', ontoggle: () => fillNodes() },
    h('summary', { text: 'Find cameras (ONVIF)' }),
    h('div', { class: 'toolbar' },
      h('label', { class: 'field', title: 'Whose network is searched: the probe goes out at that node' }, 'At node', nodeSel),
      h('label', { class: 'field' }, 'Also probe', targets),
      h('label', { class: 'field' }, 'Login', user),
      h('label', { class: 'field' }, 'Password', password), go),
    status, found, detail);
  fillNodes();

  const login = () => ({ user: user.value.trim(), password: password.value });
  // node is left out for this node, so a node without links is asked as before
  const at = () => (nodeSel.value && nodeSel.value !== session.nodeId ? { node: nodeSel.value } : {});

  async function discover() {
    go.disabled = true;
    clear(found);
    clear(detail);
    status.textContent = 'Looking for cameras…';
    const t = targets.value.split(',').map((s) => s.trim()).filter(Boolean);
    try {
      const res = await api('/api/v1/onvif/discover', { method: 'POST', body: { ...at(), targets: t, timeout: '3s' }, timeout: 120000 });
      status.textContent = `${res.devices.length} device${res.devices.length === 1 ? '' : 's'} answered at ${res.node}` +
        `${res.ignored ? `; ${res.ignored} answers ignored` : ''}.`;
      if (res.devices.length) {
        found.append(h('table', { class: 'data', id: 'discover-table' },
          h('thead', {}, h('tr', {}, ['Device', 'Name', 'Hardware', 'Answered from', ''].map((c) => h('th', { text: c })))),
          h('tbody', {}, res.devices.map((d) => h('tr', { dataset: { device: d.xaddrs[0] } },
            h('td', { text: d.xaddrs[0] }), h('td', { text: d.name || '' }), h('td', { text: d.hardware || '' }),
            h('td', { text: d.from }),
            h('td', {}, h('button', { class: 'small', text: 'Describe', onclick: () => describe(d.xaddrs[0]) })))))));
      }
    } catch (e) {
      status.textContent = `Discovery failed: ${e.message}`;
    } finally {
      go.disabled = false;
    }
  }

  async function describe(device) {
    clear(detail);
    status.textContent = `Asking ${device}…`;
    try {
      const d = await api('/api/v1/onvif/describe', { method: 'POST', body: { ...at(), device, ...login() }, timeout: 120000 });
      status.textContent = '';
      showDevice(d);
    } catch (e) {
      status.textContent = `${device}: ${e.message}`;
    }
  }

  function profileWords(p) {
    return p ? `${p.width}×${p.height} ${p.encoding}${p.fps ? ` ${p.fps} fps` : ''}` : 'none';
  }

  function showDevice(d) {
    const i = d.info || {};
    const idIn = h('input', { id: 'discover-id', value: (i.model || 'Camera').replace(/[^A-Za-z0-9_-]/g, '').slice(0, 32) || 'Camera' });
    const siteIn = h('input', { id: 'discover-site', value: nodeSel.value || session.nodeId || '' });
    const zoneIn = h('input', { id: 'discover-zone', placeholder: 'optional' });
    const out = h('div', { id: 'discover-result' });
    detail.append(h('div', { class: 'card', id: 'discover-device' },
      h('h3', { text: `${i.manufacturer || ''} ${i.model || ''}`.trim() || d.device }),
      h('div', { class: 'muted', text: `firmware ${i.firmware || '?'} · serial ${i.serial || '?'} · ${d.device}` }),
      h('div', { id: 'discover-main', text: `Main stream: ${profileWords(d.main)}` }),
      h('div', { id: 'discover-sub', text: `Sub-stream: ${profileWords(d.sub)}` }),
      h('div', { text: d.services && d.services.ptz ? 'PTZ: yes' : 'PTZ: no' }),
      h('div', { class: 'toolbar' },
        h('label', { class: 'field' }, 'Site', siteIn),
        h('label', { class: 'field' }, 'Camera ID', idIn),
        h('label', { class: 'field' }, 'Zone', zoneIn),
        h('button', { id: 'discover-add', class: 'primary', text: 'Add camera', onclick: () => add(d, siteIn.value.trim(), idIn.value.trim(), zoneIn.value.trim(), out) })),
      out));
  }

  // cameraOf is the camera a description makes: its main stream with the
  // login, the sub-stream's path when on the same host, the device service
  // for PTZ.
  function cameraOf(d, site, id, zone) {
    if (!d.main || !d.main.uri) throw new Error('the device offers no stream');
    const u = new URL(d.main.uri);
    const { user: name, password: pw } = login();
    if (name && !u.username) {
      u.username = name;
      u.password = pw;
    }
    const cam = { id, site, url: u.toString(), name: `${(d.info || {}).manufacturer || ''} ${(d.info || {}).model || ''}`.trim() };
    if (zone) cam.zone = zone;
    if (d.services && d.services.ptz) cam.onvif = d.device;
    if (d.sub && d.sub.uri) {
      const s = new URL(d.sub.uri);
      if (s.host === u.host) cam.sub_path = s.pathname + s.search;
    }
    return cam;
  }

  async function add(d, site, id, zone, out) {
    clear(out);
    let cam;
    try {
      cam = cameraOf(d, site, id, zone);
    } catch (e) {
      toast(e.message, 'error');
      return;
    }
    try {
      await api('/api/v1/topology/cameras', { method: 'POST', body: cam });
      out.append(h('div', { class: 'notice', id: 'discover-added', text: `Camera ${site}/${id} is in the catalogue; its node starts it within moments.` }));
      toast(`Camera ${id} added`);
    } catch (e) {
      if (e.status !== 404) {
        out.append(h('div', { class: 'notice notice-warn', text: `Not added: ${e.message}` }));
        return;
      }
      // no catalogue here: the lines for the node's file
      const lines = [`  - id: ${cam.id}`, `    url: "${cam.url}"`];
      if (cam.sub_path) lines.push(`    sub_path: "${cam.sub_path}"`);
      if (cam.onvif) lines.push(`    onvif: ${cam.onvif}`);
      if (cam.zone) lines.push(`    zone: ${cam.zone}`);
      out.append(h('div', { class: 'notice', text: `This node keeps no catalogue: add these lines under cameras: in the node.yaml of ${site || 'the node'} and restart it.` }),
        h('pre', { id: 'discover-yaml', text: lines.join('\n') }));
    }
  }

  return el;
}
