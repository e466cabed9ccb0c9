// The console's clock helpers, run by web/clock_test.go:
// - wallFromRtp (static/js/webrtc.js) turns a WebRTC frame's RTP timestamp
//   back into its wall clock, across the 2^32 wrap (every 13.25 h);
// - fromLocalInput / toLocalInput (static/js/dom.js) read and write the
//   24-hour date and time fields, refusing dates that do not exist.
//
//   node web/e2e/clock.mjs

import assert from 'node:assert/strict';
import { wallFromRtp } from '../static/js/webrtc.js';
import { fromLocalInput, toLocalInput } from '../static/js/dom.js';

const rtpOf = (ms) => Math.floor(ms * 90) % 2 ** 32; // as the node stamps them (whep.RTPTime)
const TURN_MS = 2 ** 32 / 90;
for (const t of [Date.UTC(2026, 11, 4, 19, 0, 0, 123), Date.now(), Math.ceil(1e12 / TURN_MS) * TURN_MS - 5]) {
  for (const off of [0, -3000, 40, 5 * 3600e3, -6 * 3600e3]) {
    const got = wallFromRtp(rtpOf(t), t + off);
    assert.ok(Math.abs(got - t) < 0.02, `frame at ${t} seen from ${off} ms away: ${got - t} ms off`);
  }
}

const d = new Date(2026, 11, 4, 18, 30, 5);
assert.equal(toLocalInput(d), '2026-12-04 18:30:05');
assert.equal(fromLocalInput('2026-12-04 18:30:05').getTime(), d.getTime());
assert.equal(fromLocalInput('2026-12-04T18:30:05').getTime(), d.getTime(), 'the datetime-local form is read too');
assert.equal(fromLocalInput(' 2026-12-04 18:30 ').getTime(), new Date(2026, 11, 4, 18, 30).getTime());
assert.equal(fromLocalInput('2026-12-04').getTime(), new Date(2026, 11, 4).getTime());
for (const bad of ['', '2026-02-30 10:00', '2026-12-04 25:10', '2026-12-04 18:60', '04/12/2026 18:30', '2026-12-04 6:30 PM', '2026-13-01']) {
  assert.equal(fromLocalInput(bad), null, `"${bad}" is refused`);
}
console.log('clock helpers: ok');
