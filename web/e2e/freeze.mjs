// The frozen-picture judgement of the live tiles (web/static/js/freeze.js),
// fed with synthetic pictures: run by web/freeze_test.go.
//
//   node web/e2e/freeze.mjs

import assert from 'node:assert/strict';
import { FrozenDetector, FROZEN_AFTER_MS } from '../static/js/freeze.js';

const N = 32 * 18 * 4;
function picture(seed, noise = 0) {
  const p = new Uint8ClampedArray(N);
  for (let i = 0; i < N; i++) p[i] = (i * 7 + seed * 13 + (noise ? (i * seed) % noise : 0)) & 255;
  return p;
}

// a moving picture is never frozen
let d = new FrozenDetector();
for (let s = 0; s < 30; s++) assert.equal(d.sample(picture(s), s * 1000, s), 0, `moving picture at ${s} s`);

// the same picture while playback advances: frozen after FROZEN_AFTER_MS,
// since the first repeat
d = new FrozenDetector();
const still = picture(3);
let frozen = 0;
for (let s = 0; s <= 12; s++) frozen = d.sample(still, s * 1000, s);
assert.equal(frozen, 1000, 'frozen since the first repeat');
assert.equal(new FrozenDetector().sample(still, 0, 0), 0);
d = new FrozenDetector();
for (let s = 0; s * 1000 < FROZEN_AFTER_MS; s++) assert.equal(d.sample(still, s * 1000, s), 0, `not yet frozen at ${s} s`);

// a change ends it at once
d = new FrozenDetector();
for (let s = 0; s <= 12; s++) d.sample(still, s * 1000, s);
assert.equal(d.sample(picture(9), 13000, 13), 0, 'a new picture ends the freeze');

// a paused or stalled player (position unchanged) starts no freeze
d = new FrozenDetector();
for (let s = 0; s <= 20; s++) assert.equal(d.sample(still, s * 1000, 5), 0, `paused at ${s} s`);

// noise of a real sensor keeps a static scene moving
d = new FrozenDetector();
for (let s = 0; s < 20; s++) assert.equal(d.sample(picture(3, 5 + (s % 3)), s * 1000, s), 0, `noisy scene at ${s} s`);

console.log('ok frozen-picture detector');
