// The health view's judgement of a node (web/static/js/views/health.js),
// fed with node statuses: run by web/healthjudge_test.go.
//
//   node web/e2e/healthjudge.mjs

import assert from 'node:assert/strict';
import { judge } from '../static/js/views/health.js';

const cam = { id: 'Camera1', state: 'streaming', recording: true, fps: 25 };
const well = { node: 'site', status: { cameras: [cam], uplink: { connected: true, backlog: 0 } } };
assert.deepEqual(judge(well, { status: 'online' }), { score: 0, wrong: [] });

// a plugin that keeps dying is something wrong, named; one restarting too
const plugins = (...ps) => ({ node: 'site', status: { ...well.status, plugins: ps } });
let j = judge(plugins({ name: 'fire', state: 'failed', restarts: 7 }), { status: 'online' });
assert.ok(j.score > 0 && j.wrong.includes('plugin fire keeps dying'), JSON.stringify(j));
j = judge(plugins({ name: 'fire', state: 'restarting', restarts: 1 }), { status: 'online' });
assert.ok(j.score > 0 && j.wrong.includes('plugin fire restarting'), JSON.stringify(j));
// running plugins, dropped frames or not, are no trouble of the node's
j = judge(plugins({ name: 'fire', state: 'running', frames_dropped: 40 }), { status: 'online' });
assert.deepEqual(j, { score: 0, wrong: [] });
// a remote plugin connected is as well as one running; away, it is named
j = judge(plugins({ name: 'ocr', state: 'connected', remote: true }), { status: 'online' });
assert.deepEqual(j, { score: 0, wrong: [] });
j = judge(plugins({ name: 'ocr', state: 'disconnected', remote: true }), { status: 'online' });
assert.ok(j.score > 0 && j.wrong.includes('plugin ocr disconnected'), JSON.stringify(j));
j = judge(plugins({ name: 'ocr', state: 'failed', remote: true }), { status: 'online' });
assert.ok(j.wrong.includes('plugin ocr away'), JSON.stringify(j));
console.log('health judgement: ok');
