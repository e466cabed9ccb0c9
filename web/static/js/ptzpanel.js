// The PTZ controls of a maximised live tile (NVMS-6.20): arrows and zoom
// move the camera while held (a continuous move, stopped on release),
// presets go and are saved, and the lock says who holds the camera. The
// camera may be this node's or any node's below: the node passes the
// commands down. Viewers see the state, not the controls.

import { h, fmtTime } from './dom.js';
import { api, roleAtLeast } from './api.js';

const SPEED = 0.5;

// ptzPanel returns the controls of camera key, or null when it has no PTZ.
export async function ptzPanel(key) {
  const path = `/api/v1/ptz/${key.split('/').map(encodeURIComponent).join('/')}`;
  let st;
  try {
    st = await api(path);
  } catch {
    return null; // no PTZ (409), or the camera's node out of reach
  }
  const status = h('div', { class: 'ptz-status', id: 'ptz-status', role: 'status' });
  const presets = h('select', { id: 'ptz-presets', 'aria-label': 'Presets' });
  const el = h('div', { class: 'ptz', id: 'ptz-panel', 'aria-label': `PTZ of ${key}`, onclick: (ev) => ev.stopPropagation(),
    ondblclick: (ev) => ev.stopPropagation() });

  function show(s) {
    st = s;
    const p = s.position;
    const lock = s.lock ? `held by ${s.lock.user} (${s.lock.role}) until ${fmtTime(s.lock.until).slice(11)}` : 'free';
    status.textContent = `${p ? `pan ${p.pan.toFixed(2)} tilt ${p.tilt.toFixed(2)} zoom ${p.zoom.toFixed(2)} · ` : ''}${lock}`;
    const keep = presets.value;
    presets.replaceChildren(h('option', { value: '', text: s.presets.length ? 'Presets…' : 'No presets' }),
      ...s.presets.map((x) => h('option', { value: x.token, text: x.name || x.token })));
    presets.value = keep;
  }

  async function send(body) {
    try {
      show(await api(path, { method: 'POST', body }));
      status.classList.remove('err');
    } catch (e) {
      status.textContent = e.message;
      status.classList.add('err');
    }
  }

  // hold moves while the button is pressed and stops on release.
  function hold(label, title, v) {
    let moving = false;
    const stop = () => { if (moving) { moving = false; send({ action: 'stop' }); } };
    return h('button', { type: 'button', class: 'ptz-btn', title, 'aria-label': title, text: label, dataset: { ptz: title.toLowerCase().replace(/ /g, '-') },
      onpointerdown: (ev) => {
        ev.preventDefault();
        ev.currentTarget.setPointerCapture(ev.pointerId); // the release comes here wherever the pointer went
        moving = true;
        send({ action: 'move', ...v });
      },
      onpointerup: stop, onpointercancel: stop, onlostpointercapture: stop });
  }

  show(st);
  if (!roleAtLeast('operator')) {
    el.append(h('div', { class: 'ptz-title', text: 'PTZ' }), status);
    return el;
  }
  const name = h('input', { id: 'ptz-preset-name', placeholder: 'New preset', maxlength: 64, autocomplete: 'off' });
  el.append(
    h('div', { class: 'ptz-title', text: 'PTZ' }),
    h('div', { class: 'ptz-pad' },
      h('span', {}), hold('▲', 'Tilt up', { tilt: SPEED }), h('span', {}),
      hold('◀', 'Pan left', { pan: -SPEED }), h('button', { type: 'button', class: 'ptz-btn', title: 'Stop', 'aria-label': 'Stop', text: '■', onclick: () => send({ action: 'stop' }) }),
      hold('▶', 'Pan right', { pan: SPEED }),
      h('span', {}), hold('▼', 'Tilt down', { tilt: -SPEED }), h('span', {})),
    h('div', { class: 'ptz-zoom' }, hold('−', 'Zoom out', { zoom: -SPEED }), hold('+', 'Zoom in', { zoom: SPEED })),
    h('div', { class: 'ptz-presets' }, presets,
      h('button', { type: 'button', id: 'ptz-goto', text: 'Go', onclick: () => presets.value && send({ action: 'goto', preset: presets.value }) })),
    h('form', { class: 'ptz-presets', onsubmit: (ev) => { ev.preventDefault(); if (name.value.trim()) { send({ action: 'set_preset', name: name.value.trim() }); name.value = ''; } } },
      name, h('button', { type: 'submit', id: 'ptz-save', text: 'Save' })),
    status);
  return el;
}
