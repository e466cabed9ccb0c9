// Live: one camera, a 2x2, 3x3 or 4x4 grid, or one large tile beside five
// small (1+5). The tree (click or Enter) puts a camera into the active
// tile; a double-click (or z) maximises a tile; a tour pages the tree's
// cameras through the grid; named views keep a layout and its cameras. Each tile shows its state and latency and
// recovers by itself from stalls and camera outages. Instant replay plays
// a tile's last 30 s from the archive (at a centre, from the file the site
// is still writing) and goes back to live at its end.

import { h, clear, statusDot, cameraStatus, fmtClock } from '../dom.js';
import { Player, hlsPresent, HLS_MISSING } from '../player.js';
import { LivePlayer } from '../webrtc.js';
import { playUrl, transcodeUrl } from '../api.js';
import { FreezeWatch } from '../freeze.js';
import { ptzPanel } from '../ptzpanel.js';
import { nodeProblem, cameraProblem } from '../health.js';
import { playsNatively, codecName } from '../codecs.js';

const REPLAY_MS = 30000;

// the real delay (camera frame clock to this screen) past which a tile
// turns amber, then red
export const DELAY_AMBER_S = 2;
export const DELAY_RED_S = 5;

// layouts by their number of tiles; 6 is one large tile and five small
const LAYOUTS = [1, 4, 6, 9, 16];
const MAX_TILES = 16;
const LAYOUT_NAMES = { 1: '1', 4: '2×2', 6: '1+5', 9: '3×3', 16: '4×4' };
const TOUR_SECONDS = [10, 20, 60];

function cleanTiles(tiles) {
  return Array.isArray(tiles) ? tiles.filter((k) => typeof k === 'string').slice(0, MAX_TILES) : [];
}

function loadState() {
  try {
    const s = JSON.parse(localStorage.getItem('kuzet.live') || '{}');
    const layout = LAYOUTS.includes(s.layout) ? s.layout : 1;
    return { layout, tiles: cleanTiles(s.tiles) };
  } catch {
    return { layout: 1, tiles: [] };
  }
}

// saved views: name -> {layout, tiles}
function loadViews() {
  try {
    const v = JSON.parse(localStorage.getItem('kuzet.live.views') || '{}');
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

export function liveView(ctx) {
  const st = loadState();
  let active = 0;
  const tiles = []; // {el, video, player, key, head, status, overlay}
  const grid = h('div', { class: 'grid', id: 'live-grid' });
  const layoutButtons = LAYOUTS.map((n) => h('button', {
    class: 'seg', 'data-layout': n, 'aria-pressed': 'false',
    title: `${n === 1 ? 'One camera' : n === 6 ? 'One large tile and five small' : `${LAYOUT_NAMES[n]} grid`} (l cycles)`,
    text: LAYOUT_NAMES[n],
    onclick: () => setLayout(n),
  }));
  let views = loadViews();
  const viewSel = h('select', { id: 'live-views', 'aria-label': 'Saved views', onchange: () => openView(viewSel.value) });
  const viewName = h('input', { id: 'live-view-name', placeholder: 'View name', maxlength: '40', 'aria-label': 'Name of the view to save' });
  let transport = localStorage.getItem('kuzet.live.transport') === 'hls' ? 'hls' : 'webrtc';
  const transportSel = h('select', {
    id: 'live-transport', 'aria-label': 'Live video over',
    title: 'WebRTC plays a fraction of a second behind the camera; HLS about a second, through any proxy',
    onchange: () => {
      transport = transportSel.value;
      localStorage.setItem('kuzet.live.transport', transport);
      tiles.forEach((t) => { if (t.key && !t.replaying) startLive(t); });
    },
  }, [h('option', { value: 'webrtc', text: 'WebRTC' }), h('option', { value: 'hls', text: 'HLS' })]);
  transportSel.value = transport;
  const tourBtn = h('button', { id: 'live-tour', class: 'ghost', text: 'Tour', 'aria-pressed': 'false',
    title: 'Page through every camera of the tree, a gridful at a time', onclick: () => toggleTour() });
  const tourEvery = h('select', { id: 'live-tour-every', 'aria-label': 'Tour interval' },
    TOUR_SECONDS.map((s) => h('option', { value: String(s), text: `${s} s` })));
  const el = h('section', { class: 'view-live', 'aria-label': 'Live' },
    h('div', { class: 'toolbar' },
      h('h1', { text: 'Live' }),
      h('div', { class: 'segmented', role: 'group', 'aria-label': 'Layout' }, layoutButtons),
      h('button', { class: 'ghost', text: 'Clear all', onclick: () => { for (let i = 0; i < tiles.length; i++) setTile(i, ''); } }),
      viewSel,
      h('form', { class: 'row inline', onsubmit: (ev) => { ev.preventDefault(); saveView(); } }, viewName, h('button', { type: 'submit', text: 'Save view' })),
      tourBtn, tourEvery, transportSel,
      h('span', { class: 'muted hint', text: 'Click a camera in the tree, or select it and press Enter. 1–9 choose a tile, x empties it, z or a double-click maximises it.' })),
    hlsPresent() ? null : h('div', { class: 'notice notice-warn', text: HLS_MISSING }),
    grid);

  // save remembers the layout and every tile's camera, including tiles
  // hidden by a smaller layout, for the next visit.
  function save() {
    tiles.forEach((t, i) => { st.tiles[i] = t.key; });
    localStorage.setItem('kuzet.live', JSON.stringify({ layout: st.layout, tiles: st.tiles }));
  }

  function makeTile(i) {
    const video = h('video', { muted: true, playsinline: true, autoplay: true, 'aria-label': `Tile ${i + 1}` });
    video.muted = true;
    const name = h('span', { class: 'tile-name', text: '' });
    const dot = h('span', {});
    const status = h('span', { class: 'tile-status', text: '' });
    const overlay = h('div', { class: 'tile-overlay', text: `Tile ${i + 1}: empty` });
    const close = h('button', { class: 'tile-close', title: 'Empty this tile (x)', 'aria-label': 'Empty this tile', text: '×',
      onclick: (ev) => { ev.stopPropagation(); setTile(i, ''); } });
    const replay = h('button', { class: 'tile-replay', title: 'Replay the last 30 s (r)', 'aria-label': 'Replay the last 30 seconds',
      text: '⟲ 30 s', onclick: (ev) => { ev.stopPropagation(); setActive(i); toggleReplay(i); } });
    const tile = h('div', { class: 'tile', 'data-tile': i, tabindex: '-1', onclick: () => setActive(i),
      ondblclick: () => { setActive(i); toggleMax(i); } },
      h('div', { class: 'tile-head' }, h('span', { class: 'tile-num', text: String(i + 1) }), dot, name, status, replay, close),
      h('div', { class: 'tile-body' }, video, overlay));
    resized.observe(tile);
    return { el: tile, video, name, dot, status, overlay, replay, player: null, watch: null, key: '', state: '', detail: '', replaying: null, stallSince: 0 };
  }

  function setLayout(n) {
    const grew = n > tiles.length && tiles.length > 0;
    st.layout = n;
    while (tiles.length < n) {
      const t = makeTile(tiles.length);
      tiles.push(t);
      setTile(tiles.length - 1, st.tiles[tiles.length - 1] || '');
    }
    while (tiles.length > n) {
      const t = tiles.pop();
      resized.unobserve(t.el);
      if (t.player) t.player.destroy();
      if (t.watch) t.watch.stop();
    }
    clear(grid);
    grid.className = `grid grid-${n}`;
    tiles.forEach((t) => t.el.classList.remove('max'));
    for (const t of tiles) grid.append(t.el);
    for (const b of layoutButtons) b.setAttribute('aria-pressed', String(Number(b.dataset.layout) === n));
    if (active >= n) active = 0;
    if (grew) {
      // a bigger grid fills its empty tiles first
      const empty = tiles.findIndex((t) => !t.key);
      if (empty >= 0) active = empty;
    }
    setActive(active);
    save();
  }

  function setActive(i) {
    active = i;
    tiles.forEach((t, j) => t.el.classList.toggle('active', j === i));
  }

  // toggleMax shows tile i alone, or the whole grid again.
  function toggleMax(i) {
    const on = !grid.classList.contains('maximised') || !tiles[i].el.classList.contains('max');
    grid.classList.toggle('maximised', on);
    tiles.forEach((t, j) => t.el.classList.toggle('max', on && j === i));
    for (const p of grid.querySelectorAll('.ptz')) p.remove();
    const t = tiles[i];
    if (on && t.key) {
      const key = t.key;
      ptzPanel(key).then((panel) => {
        // still the maximised tile's camera
        if (panel && t.key === key && t.el.classList.contains('max')) t.el.querySelector('.tile-body').append(panel);
      });
    }
  }

  // isSmall: a tile narrower than the sub-stream's usual 640 pixels (plus
  // a margin) of the screen's own shows nothing the main stream would
  // add; a high-density screen has more of them per CSS pixel
  const SMALL_PX = 720;
  function isSmall(t) {
    const w = t.el.getBoundingClientRect().width * (window.devicePixelRatio || 1);
    return w > 0 && w < SMALL_PX;
  }

  // restream switches playing tiles between main and sub-stream when
  // their size crosses the line (a layout change, maximising, the window)
  const resized = new ResizeObserver(() => {
    for (const t of tiles) {
      if (!t.key || t.replaying || !t.player) continue;
      const cam = ctx.tree.camera(t.key);
      if (cam && cam.sub && isSmall(t) !== t.small) startLive(t);
    }
  });

  // the saved views
  function fillViews() {
    clear(viewSel);
    viewSel.append(h('option', { value: '', text: 'Saved views…' }));
    for (const name of Object.keys(views).sort()) viewSel.append(h('option', { value: name, text: name }));
    if (Object.keys(views).length) viewSel.append(h('option', { value: '\u0000delete', text: 'Delete the view shown…' }));
  }

  function saveView() {
    const name = viewName.value.trim();
    if (!name) { viewName.focus(); return; }
    views[name] = { layout: st.layout, tiles: tiles.map((t) => t.key) };
    localStorage.setItem('kuzet.live.views', JSON.stringify(views));
    viewName.value = '';
    shown = name;
    fillViews();
    viewSel.value = name;
  }

  let shown = '';
  function openView(name) {
    if (name === '\u0000delete') {
      if (shown && views[shown]) {
        delete views[shown];
        localStorage.setItem('kuzet.live.views', JSON.stringify(views));
      }
      shown = '';
      fillViews();
      return;
    }
    const v = views[name];
    if (!v) return;
    stopTour();
    shown = name;
    const layout = LAYOUTS.includes(v.layout) ? v.layout : 1;
    st.tiles = cleanTiles(v.tiles);
    setLayout(layout);
    st.tiles.forEach((k, i) => { if (i < tiles.length && tiles[i].key !== k) setTile(i, k || ''); });
    for (let i = st.tiles.length; i < tiles.length; i++) setTile(i, '');
  }

  // the tour: every interval the next gridful of the tree's cameras
  let tour = 0;
  let tourPage = 0;
  function toggleTour() {
    if (tour) { stopTour(); return; }
    tourPage = 0;
    tourStep();
    tour = setInterval(tourStep, Number(tourEvery.value) * 1000);
    tourBtn.setAttribute('aria-pressed', 'true');
    tourBtn.textContent = 'Stop tour';
  }
  function stopTour() {
    clearInterval(tour);
    tour = 0;
    tourBtn.setAttribute('aria-pressed', 'false');
    tourBtn.textContent = 'Tour';
  }
  function tourStep() {
    const cams = ctx.tree.cameras().map((c) => c.key);
    if (!cams.length) return;
    const pages = Math.max(1, Math.ceil(cams.length / tiles.length));
    const page = tourPage % pages;
    tourPage++;
    tiles.forEach((t, i) => {
      const k = cams[page * tiles.length + i] || '';
      if (t.key !== k) setTile(i, k);
    });
    grid.dataset.tourPage = String(page + 1);
    tourBtn.title = `Page ${page + 1} of ${pages}; stop the tour`;
  }

  function setTile(i, key) {
    const t = tiles[i];
    if (t.player) {
      t.player.destroy();
      t.player = null;
    }
    if (t.watch) {
      t.watch.stop();
      t.watch = null;
    }
    t.key = key;
    t.el.dataset.camera = key;
    t.name.textContent = key || '';
    t.status.textContent = '';
    t.el.classList.toggle('empty', !key);
    if (!key) {
      t.overlay.textContent = `Tile ${i + 1}: empty`;
      t.overlay.hidden = false;
      t.dot.replaceWith((t.dot = h('span', {})));
      save();
      return;
    }
    startLive(t);
    save();
  }

  // startLive plays a tile's camera live.
  function startLive(t) {
    if (t.player) t.player.destroy();
    if (t.watch) t.watch.stop();
    t.watch = new FreezeWatch(t.video);
    t.stallSince = 0;
    t.replaying = null;
    t.el.classList.remove('replaying');
    t.replay.textContent = '⟲ 30 s';
    t.replay.title = 'Replay the last 30 s (r)';
    t.replay.setAttribute('aria-label', 'Replay the last 30 seconds');
    const cam = ctx.tree.camera(t.key);
    // a small tile plays the camera's sub-stream, when it has one
    t.small = isSmall(t);
    const sub = cam && cam.sub && t.small && t.noSub !== t.key ? cam.sub : '';
    const key = sub || t.key;
    t.el.dataset.stream = sub ? 'sub' : 'main';
    // a codec the browser cannot play is transcoded by the node, over HLS
    const native = sub || (t.noNative !== t.key && playsNatively(cam && cam.codec));
    t.el.dataset.codec = native ? 'native' : 'h264';
    let played = false;
    t.player = new LivePlayer(t.video, {
      key,
      hlsUrl: sub ? `/live/${sub}/index.m3u8` : !native ? `/live/${t.key}~h264/index.m3u8` : cam ? cam.live : `/live/${t.key}/index.m3u8`,
      prefer: native && (!cam || !cam.codec || cam.codec === 'h264') ? transport : 'hls',
      hlsWhy: !native ? `the camera streams ${codecName((cam && cam.codec) || 'a codec')}, which this browser cannot play: the node transcodes it to H.264`
        : cam && cam.codec && cam.codec !== 'h264' ? `WebRTC carries H.264 only; this browser plays ${codecName(cam.codec)} over HLS` : '',
      onStatus: (state, detail) => {
        if (sub && !played && (state === 'retrying' || state === 'error')) {
          t.noSub = t.key; // the sub-stream does not play: the main one will
          startLive(t);
          return;
        }
        const fresh = ctx.tree.camera(t.key);
        const codec = (fresh && fresh.codec) || '';
        if (!sub && native && !played && (state === 'retrying' || state === 'error') &&
            ((codec && codec !== 'h264') || /HTTP 415/.test(detail || ''))) {
          // the browser said it plays the codec and then could not (a
          // platform without the decoder), or the tree did not know the
          // codec yet and the node says HLS cannot carry it: play the
          // node's H.264 view
          t.noNative = t.key;
          setTimeout(() => startLive(t)); // not inside the player's own event
          return;
        }
        played = played || state === 'playing';
        t.state = state;
        t.detail = detail;
        t.el.dataset.state = state;
        t.el.dataset.transport = t.player ? t.player.transport : '';
        if (state === 'playing') t.stallSince = 0;
        else if ((state === 'stalled' || state === 'retrying') && !t.stallSince) t.stallSince = Date.now();
        paint(t);
      },
    });
    t.player.load();
    t.el.dataset.transport = t.player.transport;
    paint(t);
  }

  // toggleReplay plays a tile's last 30 s from the archive, or goes back
  // to live when it is replaying already.
  function toggleReplay(i) {
    const t = tiles[i];
    if (!t.key) return;
    if (t.replaying) {
      startLive(t);
      return;
    }
    if (t.player) t.player.destroy();
    if (t.watch) t.watch.stop();
    t.watch = null;
    const to = new Date();
    const from = new Date(+to - REPLAY_MS);
    t.replaying = { from, to };
    t.el.classList.add('replaying');
    t.replay.textContent = '● Live';
    t.replay.title = 'Back to live (r)';
    t.replay.setAttribute('aria-label', 'Back to live');
    t.player = new Player(t.video, {
      live: false,
      onStatus: (state, detail) => {
        t.state = state;
        t.detail = detail;
        t.el.dataset.state = state;
        if (state === 'ended') startLive(t);
        else paint(t);
      },
    });
    const cam = ctx.tree.camera(t.key);
    if (cam && !playsNatively(cam.codec)) t.player.loadFile(transcodeUrl(t.key, from.toISOString(), to.toISOString()), from);
    else t.player.load(playUrl(t.key, from.toISOString(), to.toISOString()), { startPosition: 0 });
    paint(t);
  }

  // paint refreshes a tile's head and overlay from the player and tree:
  // the real delay behind the camera, and in words what is wrong and since
  // when (site unreachable, camera down, stream stalled, picture frozen).
  function paint(t) {
    if (!t.key) return;
    const cam = ctx.tree.camera(t.key);
    const camState = cam ? cam.state : 'unknown';
    const dot = statusDot(cameraStatus(camState), cam ? `${camState}${cam.reason ? `: ${cam.reason}` : ''}` : 'not in the tree');
    t.dot.replaceWith(dot);
    t.dot = dot;
    let text = '';
    let overlay = '';
    let level = t.state;
    switch (t.state) {
      case 'playing': {
        if (t.replaying) {
          const at = t.player && t.player.playingDate;
          text = at ? `replay · ${at.toTimeString().slice(0, 8)}` : 'replay';
          level = 'replay';
          break;
        }
        const at = t.player && t.player.playingDate;
        const delay = at ? (Date.now() - at.getTime()) / 1000 : NaN;
        if (Number.isFinite(delay)) {
          const d = Math.max(0, delay);
          text = `live · ${d.toFixed(d < 1 ? 2 : 1)} s`;
          // HLS plays about a second behind: say so, and why not WebRTC
          if (t.player && t.player.transport === 'hls') text += ' · HLS';
          if (delay > DELAY_RED_S) level = 'verylate';
          else if (delay > DELAY_AMBER_S) level = 'late';
        } else {
          text = 'live';
        }
        t.el.dataset.delay = Number.isFinite(delay) ? delay.toFixed(2) : '';
        const frozen = t.watch ? t.watch.frozen : 0;
        if (frozen) {
          text = 'frozen';
          level = 'frozen';
          overlay = `Picture frozen since ${fmtClock(new Date(frozen))}: the camera sends an unchanging image.`;
        }
        break;
      }
      case 'loading':
        text = 'connecting…';
        overlay = t.replaying ? 'Fetching the last 30 s… (a centre may first fetch them from the site)' : 'Connecting…';
        break;
      case 'stalled':
        text = 'stalled';
        overlay = `Stream stalled since ${fmtClock(new Date(t.stallSince || Date.now()))}: no new video.`;
        break;
      case 'retrying':
        text = 'reconnecting';
        overlay = `${t.stallSince ? `No video since ${fmtClock(new Date(t.stallSince))}. ` : ''}${t.detail}`;
        break;
      case 'error': text = 'error'; overlay = t.detail; break;
      default: text = t.state;
    }
    if (t.state !== 'playing' || t.replaying) {
      const why = nodeProblem(ctx.tree.nodeOfCamera(t.key)) || cameraProblem(cam);
      if (why) overlay = `${why} ${overlay}`;
    }
    t.el.dataset.problem = level;
    t.status.textContent = text;
    const why = t.player && t.player.transport === 'hls' && t.player.why ? t.player.why : '';
    t.status.title = [why, t.el.dataset.stream === 'sub' ? 'sub-stream (a small tile)' : ''].filter(Boolean).join('; ');
    t.status.className = `tile-status st-${level}`;
    t.overlay.textContent = overlay;
    t.overlay.hidden = !overlay;
  }

  const ticker = setInterval(() => tiles.forEach(paint), 1000);
  fillViews();
  setLayout(st.layout);

  return {
    el,
    title: 'Live',
    openCamera(cam) {
      stopTour(); // a camera chosen by hand ends the tour
      const i = active;
      setTile(i, cam.key);
      ctx.tree.select(cam.key);
      // in a grid, the next click fills the next tile
      if (tiles.length > 1) setActive((i + 1) % tiles.length);
    },
    key(ev) {
      if (/^[1-9]$/.test(ev.key) && Number(ev.key) <= tiles.length) {
        setActive(Number(ev.key) - 1);
        return true;
      }
      if (ev.key === 'x') { setTile(active, ''); return true; }
      if (ev.key === 'z') { toggleMax(active); return true; }
      if (ev.key === 'r') { toggleReplay(active); return true; }
      if (ev.key === 'l') { setLayout(LAYOUTS[(LAYOUTS.indexOf(st.layout) + 1) % LAYOUTS.length]); return true; }
      return false;
    },
    treeChanged() { tiles.forEach(paint); },
    unmount() {
      clearInterval(ticker);
      resized.disconnect();
      stopTour();
      for (const t of tiles) {
        if (t.player) t.player.destroy();
        if (t.watch) t.watch.stop();
      }
    },
  };
}
