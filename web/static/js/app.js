// The console: login, top bar, the tree, hash routes and keyboard
// shortcuts. Views are plain functions returning {el, unmount, ...}.

import { h, $, clear, isTyping, fmtClock, toast } from './dom.js';
import { api, session, roleAtLeast, setUnauthorizedHandler } from './api.js';
import { Tree } from './tree.js';
import { AlarmFeed, Sounder } from './alarmfeed.js';
import { UncertainBadge } from './uncertainbadge.js';
import { liveView } from './views/live.js';
import { archiveView } from './views/archive.js';
import { platesView } from './views/plates.js';
import { alarmsView } from './views/alarms.js';
import { auditView } from './views/audit.js';
import { treeView } from './views/treeview.js';
import { uncertainView } from './views/uncertain.js';
import { visitsView } from './views/visits.js';
import { healthView } from './views/health.js';
import { pluginsView } from './views/plugins.js';

const VIEWS = {
  live: { make: liveView, key: 'l', label: 'Live' },
  archive: { make: archiveView, key: 'a', label: 'Archive' },
  plates: { make: platesView, key: 'p', label: 'Plates' },
  alarms: { make: alarmsView, key: 'm', label: 'Alarms' },
  audit: { make: auditView, key: 'u', label: 'Audit', role: 'admin' },
  tree: { make: treeView, key: 't', label: 'Tree' },
  uncertain: { make: uncertainView, key: 'r', label: 'Uncertain reads' },
  visits: { make: visitsView, key: 'c', label: 'Checkpoint' },
  health: { make: healthView, key: 'h', label: 'Health' },
  plugins: { make: pluginsView, key: 'i', label: 'Plugins', role: 'engineer' },
};
// new views go last, so that Alt+1… keep their meaning
const ORDER = ['live', 'archive', 'plates', 'alarms', 'audit', 'tree', 'uncertain', 'visits', 'health', 'plugins'];
const TREE_POLL_MS = 5000;

const sounder = new Sounder();
let view = null;
let viewName = '';
let treeTimer = 0;
let clockTimer = 0;
let running = false;
let gPending = 0;
let pendingCamera = null;

const tree = new Tree($('#tree'), $('#tree-filter'), { onOpen: (cam) => openCamera(cam) });
const feed = new AlarmFeed(sounder, paintCounter);
feed.announce = (text) => { $('#alarm-announcer').textContent = text; };
const uncertain = new UncertainBadge(h('span', { id: 'uncertain-count', class: 'nav-badge', hidden: true }));

const ctx = {
  tree,
  feed,
  uncertain,
  openCamera: (cam, where) => openCamera(cam, where),
  navigate,
  // setParams records a view's state in the address without reloading it
  setParams(obj) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(obj)) if (v) q.set(k, v);
    const s = q.toString();
    history.replaceState(null, '', `#/${viewName}${s ? `?${s}` : ''}`);
  },
};

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [name, qs] = raw.split('?', 2);
  return { name: VIEWS[name] ? name : 'live', params: new URLSearchParams(qs || '') };
}

function navigate(name, params) {
  const q = params ? `?${new URLSearchParams(params)}` : '';
  const target = `#/${name}${q}`;
  if (location.hash === target) route();
  else location.hash = target;
}

function route() {
  if (!running) return;
  const { name, params } = parseHash();
  if (view) {
    try { view.unmount(); } catch (e) { console.error(e); }
  }
  viewName = name;
  const main = $('#view');
  clear(main);
  view = VIEWS[name].make(ctx, params);
  main.append(view.el);
  main.dataset.view = name;
  document.title = `${VIEWS[name].label} · ${session.nodeId || 'Kuzet'}`;
  if (pendingCamera && view.openCamera) view.openCamera(pendingCamera);
  pendingCamera = null;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

// openCamera shows a camera in the view that asked for it, or in Live
// when the current view has no use for a camera.
function openCamera(cam, where) {
  const target = where || (view && view.openCamera ? viewName : 'live');
  if (target === viewName && view && view.openCamera) {
    view.openCamera(cam);
    return;
  }
  pendingCamera = cam; // route() hands it over once the view exists
  navigate(target);
}

async function pollTree() {
  clearTimeout(treeTimer);
  if (!running) return;
  try {
    const t = await api('/api/v1/tree');
    tree.update(t);
    $('#tree-error').hidden = true;
    if (view && view.treeChanged) view.treeChanged();
  } catch (e) {
    if (e.status === 401) return;
    $('#tree-error').textContent = `Tree unavailable: ${e.message}`;
    $('#tree-error').hidden = false;
  }
  treeTimer = setTimeout(pollTree, TREE_POLL_MS);
}

function paintCounter(f) {
  const btn = $('#alarm-counter');
  const n = $('#alarm-count');
  if (f.available === false) {
    n.textContent = '—';
    btn.className = 'alarm-counter unavailable';
    btn.title = f.error || 'alarms unavailable';
    return;
  }
  const waiting = f.unacknowledged();
  n.textContent = String(waiting.length);
  const worst = waiting.some((a) => a.severity === 'grave') ? 'grave' : waiting.some((a) => a.severity === 'medium') ? 'medium' : waiting.length ? 'minor' : 'none';
  btn.className = `alarm-counter level-${worst}`;
  btn.title = `${waiting.length} alarms wait for acknowledgement, ${f.open.length} open`;
}

// --- session ---

function showLogin(message) {
  stopApp();
  $('#app').hidden = true;
  $('#login-screen').hidden = false;
  $('#login-error').textContent = message || '';
  $('#login-password').value = '';
  const u = $('#login-user');
  (u.value ? $('#login-password') : u).focus();
}

async function startApp() {
  running = true;
  $('#login-screen').hidden = true;
  $('#app').hidden = false;
  $('#node-id').textContent = session.nodeId;
  $('#login-node').textContent = session.nodeId;
  const who = $('#user');
  clear(who);
  if (session.loginRequired) {
    who.append(h('span', { class: 'user-name', text: session.user }), h('span', { class: `role role-${session.role}`, text: session.role }));
  } else {
    who.append(h('span', { class: 'user-name', text: 'no login' }), h('span', { class: 'role', text: 'allow-list only' }));
  }
  $('#logout').hidden = !session.loginRequired;
  for (const a of document.querySelectorAll('#nav a')) {
    const v = VIEWS[a.dataset.view];
    a.hidden = !!(v.role && !roleAtLeast(v.role));
  }
  paintMute();
  clockTimer = setInterval(() => { $('#clock').textContent = fmtClock(new Date()); }, 1000);
  $('#clock').textContent = fmtClock(new Date());
  feed.start();
  uncertain.start();
  pollTree();
  route();
}

function stopApp() {
  running = false;
  clearTimeout(treeTimer);
  clearInterval(clockTimer);
  feed.stop();
  uncertain.stop();
  if (view) {
    try { view.unmount(); } catch (e) { console.error(e); }
    view = null;
  }
  clear($('#view'));
}

async function boot() {
  try {
    const node = await api('/api/v1/node', { quiet401: true });
    session.nodeId = node.id;
    session.version = node.version;
    session.loginRequired = !!node.login_required;
    if (session.loginRequired) {
      const me = await api('/api/v1/auth/me', { quiet401: true });
      session.user = me.user;
      session.role = me.role;
      session.csrf = me.csrf_token || '';
    } else {
      session.user = '';
      session.role = 'admin';
    }
    startApp();
  } catch (e) {
    if (e.status === 401) showLogin();
    else showLogin(`This node did not answer: ${e.message}`);
    nameLoginNode();
  }
}

// nameLoginNode shows, before anyone logs in, which node this is.
async function nameLoginNode() {
  try {
    const res = await fetch('/healthz', { cache: 'no-store' });
    const id = res.headers.get('X-Kuzet-Node');
    if (id) {
      $('#login-node').textContent = `Node ${id}`;
      document.title = `Kuzet · ${id}`;
    }
  } catch {
    // the login works without it
  }
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  sounder.unlock();
  const btn = $('#login-submit');
  btn.disabled = true;
  $('#login-error').textContent = '';
  try {
    const res = await api('/api/v1/auth/login', { method: 'POST', quiet401: true,
      body: { user: $('#login-user').value.trim(), password: $('#login-password').value } });
    session.user = res.user;
    session.role = res.role;
    session.csrf = res.csrf_token;
    const node = await api('/api/v1/node');
    session.nodeId = node.id;
    session.version = node.version;
    session.loginRequired = true;
    $('#login-password').value = '';
    startApp();
  } catch (e) {
    $('#login-error').textContent = e.status === 401 ? 'Wrong user name or password.' : e.message;
    $('#login-password').select();
  } finally {
    btn.disabled = false;
  }
});

$('#logout').addEventListener('click', async () => {
  try {
    await api('/api/v1/auth/logout', { method: 'POST' });
  } catch (e) {
    if (e.status !== 401) toast(`Logout: ${e.message}`, 'error');
  }
  session.csrf = '';
  session.user = '';
  session.role = '';
  showLogin('Logged out.');
});

setUnauthorizedHandler((msg) => {
  if (!running) return;
  // without users there is no session to renew: say what was refused
  if (!session.loginRequired) toast(msg, 'error');
  else showLogin('Your session has ended. Log in again.');
});

// --- top bar ---

$('#alarm-counter').addEventListener('click', () => navigate('alarms'));

function paintMute() {
  const b = $('#mute');
  b.textContent = sounder.muted ? 'Sound off' : 'Sound on';
  b.setAttribute('aria-pressed', String(sounder.muted));
  b.classList.toggle('muted-on', sounder.muted);
}

$('#mute').addEventListener('click', () => {
  sounder.unlock();
  sounder.setMuted(!sounder.muted);
  paintMute();
});

for (const name of ORDER) {
  const v = VIEWS[name];
  const i = ORDER.indexOf(name);
  // Alt+1…9 reach the first nine views; the rest only by g and a letter
  $('#nav').append(h('a', { href: `#/${name}`, dataset: { view: name }, title: `${v.label} (g ${v.key}${i < 9 ? `, Alt+${i + 1}` : ''})`, text: v.label },
    name === 'uncertain' ? uncertain.el : null));
}

// --- keyboard ---

function toggleHelp(force) {
  const d = $('#help');
  const open = force ?? !d.open;
  if (open && !d.open) d.showModal();
  else if (!open && d.open) d.close();
}

document.addEventListener('keydown', (ev) => {
  sounder.unlock();
  if (!running || document.querySelector('dialog[open]:not(#help)')) return;
  if (ev.ctrlKey || ev.metaKey) return;
  if (ev.altKey) {
    const i = Number(ev.key) - 1;
    if (ORDER[i]) {
      ev.preventDefault();
      navigate(ORDER[i]);
    }
    return;
  }
  if (isTyping(ev)) {
    if (ev.key === 'Escape') ev.target.blur();
    return;
  }
  if (gPending) {
    clearTimeout(gPending);
    gPending = 0;
    const name = ORDER.find((n) => VIEWS[n].key === ev.key);
    if (name) {
      ev.preventDefault();
      navigate(name);
      return;
    }
  }
  switch (ev.key) {
    case '?': toggleHelp(); break;
    case '/':
      if (viewName !== 'plates') navigate('plates');
      setTimeout(() => view && view.focusSearch && view.focusSearch(), 0);
      break;
    case 'g': gPending = setTimeout(() => { gPending = 0; }, 1500); break;
    case 'f': $('#tree-filter').focus(); $('#tree-filter').select(); break;
    case 't': tree.focus(); break;
    case 'M': $('#mute').click(); break;
    default:
      if (view && view.key && view.key(ev)) break;
      return;
  }
  ev.preventDefault();
});

document.addEventListener('pointerdown', () => sounder.unlock(), { passive: true });
$('#help-close').addEventListener('click', () => toggleHelp(false));
window.addEventListener('hashchange', route);

boot();
