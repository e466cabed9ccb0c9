// The hierarchy in the sidebar: centre -> regions -> sites -> cameras,
// with status dots, a filter and keyboard navigation (WAI-ARIA tree).

import { h, clear, statusDot, cameraStatus, fmtAgo } from './dom.js';

export class Tree {
  constructor(root, filter, { onOpen }) {
    this.root = root;
    this.filter = filter;
    this.onOpen = onOpen;
    this.data = null;
    this.collapsed = new Set();
    this.active = ''; // data-id of the item with tabindex 0
    this.selected = ''; // camera key shown in the main view
    root.setAttribute('role', 'tree');
    root.setAttribute('aria-label', 'Nodes and cameras');
    root.addEventListener('keydown', (ev) => this.key(ev));
    root.addEventListener('click', (ev) => this.click(ev));
    filter.addEventListener('input', () => this.render());
    filter.addEventListener('keydown', (ev) => {
      if (ev.key === 'ArrowDown' || ev.key === 'Enter') {
        ev.preventDefault();
        const first = this.items()[0];
        if (first) this.focusItem(first);
      } else if (ev.key === 'Escape') {
        filter.value = '';
        this.render();
      }
    });
  }

  update(data) {
    this.data = data;
    this.render();
  }

  // cameras lists every camera of the tree, in tree order.
  cameras() {
    const out = [];
    const walk = (n) => {
      for (const c of n.cameras || []) out.push(c);
      for (const ch of n.children || []) walk(ch);
    };
    if (this.data) walk(this.data);
    return out;
  }

  nodes() {
    const out = [];
    const walk = (n, depth, parent) => {
      out.push({ node: n, depth, parent });
      for (const ch of n.children || []) walk(ch, depth + 1, n.id);
    };
    if (this.data) walk(this.data, 0, '');
    return out;
  }

  camera(key) {
    return this.cameras().find((c) => c.key === key);
  }

  // nodeOfCamera is the node that records the camera key.
  nodeOfCamera(key) {
    const hit = this.nodes().find(({ node }) => (node.cameras || []).some((c) => c.key === key));
    return hit ? hit.node : null;
  }

  select(key) {
    this.selected = key;
    for (const el of this.root.querySelectorAll('[data-camera]')) {
      el.setAttribute('aria-selected', el.dataset.camera === key ? 'true' : 'false');
    }
  }

  render() {
    const hadFocus = this.root.contains(document.activeElement);
    clear(this.root);
    if (!this.data) {
      this.root.append(h('div', { class: 'muted pad', text: 'Loading…' }));
      return;
    }
    const f = this.filter.value.trim().toLowerCase();
    const matches = (n) => !f || n.id.toLowerCase().includes(f) ||
      (n.cameras || []).some((c) => c.key.toLowerCase().includes(f)) ||
      (n.children || []).some(matches);
    const renderNode = (n, level) => {
      if (!matches(n)) return null;
      const id = `n:${n.id}`;
      const open = f !== '' || !this.collapsed.has(n.id);
      const kids = [];
      const nodeHit = !f || n.id.toLowerCase().includes(f);
      for (const c of n.cameras || []) {
        if (!nodeHit && !c.key.toLowerCase().includes(f)) continue;
        const st = cameraStatus(c.state);
        kids.push(h('li', {
          role: 'treeitem', class: 'ti ti-camera', tabindex: '-1', 'aria-level': level + 1,
          'aria-selected': c.key === this.selected ? 'true' : 'false',
          dataset: { id: `c:${c.key}`, camera: c.key },
          title: `${c.key}: ${c.state}${c.reason ? ` (${c.reason})` : ''}`,
        }, statusDot(st, c.state), h('span', { class: 'ti-label', text: c.id }),
        c.state !== 'streaming' ? h('span', { class: `ti-state state-${st}`, text: c.state }) : null));
      }
      for (const ch of n.children || []) {
        const el = renderNode(ch, level + 1);
        if (el) kids.push(el);
      }
      const cams = (n.cameras || []).length;
      const row = h('div', { class: 'ti-row' },
        h('span', { class: 'caret', text: kids.length ? (open ? '▾' : '▸') : '' }),
        statusDot(n.status, `${n.status}${n.last_seen ? `, last seen ${fmtAgo(n.last_seen)}` : ''}`),
        h('span', { class: 'ti-label', text: n.id }),
        n.self ? h('span', { class: 'badge', text: 'this node' }) : null,
        cams ? h('span', { class: 'ti-count', text: String(cams) }) : null);
      const li = h('li', {
        role: 'treeitem', class: `ti ti-node status-${n.status}`, tabindex: '-1', 'aria-level': level,
        'aria-expanded': kids.length ? String(open) : undefined, dataset: { id, node: n.id },
        title: `${n.id}: ${n.status}`,
      }, row);
      if (kids.length) {
        const group = h('ul', { role: 'group', class: 'ti-group' }, kids);
        group.hidden = !open;
        li.append(group);
      }
      return li;
    };
    const top = renderNode(this.data, 1);
    const ul = h('ul', { class: 'ti-root' }, top || h('li', { class: 'muted pad', text: 'No match' }));
    this.root.append(ul);
    this.indent();
    const items = this.items();
    let act = items.find((el) => el.dataset.id === this.active) || items[0];
    if (act) {
      act.tabIndex = 0;
      this.active = act.dataset.id;
      if (hadFocus) act.focus({ preventScroll: true });
    }
  }

  // indent sets each row's indentation from its level (CSSOM, so the
  // strict CSP needs no inline styles).
  indent() {
    for (const el of this.root.querySelectorAll('[role="treeitem"]')) {
      const lvl = Number(el.getAttribute('aria-level')) - 1;
      const target = el.classList.contains('ti-camera') ? el : el.firstElementChild;
      target.style.paddingLeft = `${0.4 + lvl * 0.9}rem`;
    }
  }

  // items are the visible tree items, in order.
  items() {
    return [...this.root.querySelectorAll('[role="treeitem"]')].filter((el) => !el.closest('[hidden]'));
  }

  focusItem(el) {
    for (const o of this.root.querySelectorAll('[tabindex="0"]')) o.tabIndex = -1;
    el.tabIndex = 0;
    this.active = el.dataset.id;
    el.focus();
  }

  focus() {
    const items = this.items();
    const el = items.find((e) => e.dataset.id === this.active) || items[0];
    if (el) this.focusItem(el);
  }

  toggle(el, open) {
    const id = el.dataset.node;
    if (!id || el.getAttribute('aria-expanded') === null) return;
    const now = open ?? el.getAttribute('aria-expanded') !== 'true';
    if (now) this.collapsed.delete(id);
    else this.collapsed.add(id);
    this.render();
    const again = this.root.querySelector(`[data-id="${CSS.escape(`n:${id}`)}"]`);
    if (again) this.focusItem(again);
  }

  activate(el) {
    if (el.dataset.camera) {
      const cam = this.camera(el.dataset.camera);
      if (cam) this.onOpen(cam);
    } else {
      this.toggle(el);
    }
  }

  click(ev) {
    const el = ev.target.closest('[role="treeitem"]');
    if (!el) return;
    ev.stopPropagation();
    this.focusItem(el);
    if (el.dataset.camera || ev.target.closest('.caret') || ev.target.closest('.ti-row')) this.activate(el);
  }

  key(ev) {
    const el = ev.target.closest('[role="treeitem"]');
    if (!el) return;
    const items = this.items();
    const i = items.indexOf(el);
    let to = null;
    switch (ev.key) {
      case 'ArrowDown': to = items[i + 1]; break;
      case 'ArrowUp': to = items[i - 1]; break;
      case 'Home': to = items[0]; break;
      case 'End': to = items[items.length - 1]; break;
      case 'ArrowRight':
        if (el.getAttribute('aria-expanded') === 'false') this.toggle(el, true);
        else if (el.getAttribute('aria-expanded') === 'true') to = items[i + 1];
        break;
      case 'ArrowLeft':
        if (el.getAttribute('aria-expanded') === 'true') this.toggle(el, false);
        else to = el.parentElement.closest('[role="treeitem"]');
        break;
      case 'Enter': case ' ':
        this.activate(el);
        break;
      case 'Escape':
        el.blur();
        break;
      default:
        return;
    }
    ev.preventDefault();
    ev.stopPropagation();
    if (to) this.focusItem(to);
  }
}
