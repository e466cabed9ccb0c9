'use strict';
// Run with: node --test sdk/examples/node/

const test = require('node:test');
const assert = require('node:assert');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');
const { spawn } = require('node:child_process');
const { FrameParser, bandMean, Counter } = require('./linecount.js');

const SCRIPT = path.join(__dirname, 'linecount.js');

// frame builds a frame whose rows 40%..60% have brightness v and the rest
// 255 - v, so that only the band can explain what is counted.
function frame(camera, format, width, height, seq, v) {
  const bpp = format === 'gray' ? 1 : 3;
  const pix = Buffer.alloc(width * height * bpp);
  for (let y = 0; y < height; y++) {
    const inBand = y >= Math.floor(height * 0.4) && y < Math.ceil(height * 0.6);
    const b = inBand ? v : 255 - v;
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * bpp;
      if (bpp === 1) pix[i] = b;
      else [pix[i], pix[i + 1], pix[i + 2]] = [b + 30, b, b - 30].map((c) => Math.max(0, Math.min(255, c)));
    }
  }
  const header = { camera, time: new Date().toISOString(), width, height, format, seq, dropped: 0, bytes: pix.length };
  return Buffer.concat([Buffer.from(JSON.stringify(header) + '\n'), pix]);
}

test('FrameParser takes frames split anywhere', () => {
  const stream = Buffer.concat([frame('A', 'gray', 4, 3, 1, 10), Buffer.from('\n'), frame('A', 'rgb24', 2, 2, 2, 200)]);
  for (const size of [1, 2, 7, 64, stream.length]) {
    const got = [];
    const p = new FrameParser((h, pix) => got.push([h.seq, h.format, pix.length]));
    for (let i = 0; i < stream.length; i += size) p.push(stream.subarray(i, i + size));
    assert.deepStrictEqual(got, [[1, 'gray', 12], [2, 'rgb24', 12]], `chunks of ${size}`);
    assert.strictEqual(p.midFrame(), false);
  }
  const cut = new FrameParser(() => {});
  cut.push(frame('A', 'gray', 4, 3, 1, 10).subarray(0, 70));
  assert.strictEqual(cut.midFrame(), true);
});

test('FrameParser refuses malformed headers', () => {
  const cases = [
    ['{"pad": "' + 'x'.repeat(5000), /longer than 4096/],
    ['{"width": 4, "height": 4, "format": "gray", "bytes": 15}\n', /takes 16/],
    ['{"width": 4, "height": 4, "format": "yuv", "bytes": 16}\n', /unknown format/],
    ['{"width": 100000, "height": 100000, "format": "rgb24", "bytes": 30000000000}\n', /over/],
    ['{"width": -1, "height": 4, "format": "gray", "bytes": 4}\n', /bad width/],
    ['not json\n', /JSON/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => new FrameParser(() => {}).push(Buffer.from(text)), re, text.slice(0, 40));
  }
});

test('bandMean reads rows 45%..55%', () => {
  const g = frame('A', 'gray', 10, 20, 1, 200);
  const nl = g.indexOf(0x0a);
  assert.strictEqual(bandMean(JSON.parse(g.subarray(0, nl)), g.subarray(nl + 1)), 200);
  const c = frame('A', 'rgb24', 10, 20, 1, 100);
  const nl2 = c.indexOf(0x0a);
  assert.strictEqual(bandMean(JSON.parse(c.subarray(0, nl2)), c.subarray(nl2 + 1)), 100);
});

test('Counter counts rises after falls past the hysteresis', () => {
  const c = new Counter(128, 8);
  const crossed = [200, 20, 230, 124, 230, 121, 200, 119, 129].map((m) => c.observe(m));
  assert.deepStrictEqual(crossed, [false, false, true, false, false, false, false, false, true]);
  assert.strictEqual(c.count, 2);
});

// fakeNode serves hello, frames and events on a Unix socket, as the node
// does, and records what is posted.
async function fakeNode(t, { cameras, frames, status = {} }) {
  const socketPath = path.join(os.tmpdir(), `kuzet-linecount-${process.pid}-${Math.random().toString(36).slice(2)}.sock`);
  const posted = [];
  const waiters = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://node');
    if (req.method === 'GET' && url.pathname === '/v1/hello') {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ protocol: 1, name: 'linecount', node: 'n1', cameras, frames: {}, events: [], limits: {} }));
    } else if (req.method === 'GET' && url.pathname === '/v1/frames') {
      const cam = url.searchParams.get('camera');
      if (status[cam]) {
        res.writeHead(status[cam], { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: `camera ${cam} is not granted` }));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/x-kuzet-frames' });
      // Written in odd pieces, with pauses, so the plugin sees frames
      // split across chunks; then held open, as a live stream is.
      const data = Buffer.concat(frames[cam] || []);
      let off = 0;
      const step = () => {
        if (off >= data.length || res.destroyed) return;
        res.write(data.subarray(off, off + 333));
        off += 333;
        setTimeout(step, 2);
      };
      step();
    } else if (req.method === 'POST' && url.pathname === '/v1/events') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        posted.push(JSON.parse(Buffer.concat(chunks).toString()));
        res.writeHead(202).end();
        for (const w of waiters.splice(0)) w();
      });
    } else {
      res.writeHead(404).end('{"error": "not found"}');
    }
  });
  await new Promise((resolve) => server.listen(socketPath, resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
    fs.rmSync(socketPath, { force: true });
  });
  // until resolves once pred(posted) holds, or rejects after ms.
  const until = (pred, ms) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out; posted ${JSON.stringify(posted)}`)), ms);
    const check = () => {
      if (pred(posted)) {
        clearTimeout(timer);
        resolve();
      } else waiters.push(check);
    };
    check();
  });
  return { socketPath, posted, until };
}

function launch(t, env) {
  const child = spawn(process.execPath, [SCRIPT], {
    env: { ...process.env, KUZET_PLUGIN_NAME: 'linecount', KUZET_PLUGIN_PROTOCOL: '1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += c; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  t.after(() => child.kill());
  return { child, exited, stderr: () => stderr };
}

test('linecount posts started and one line_crossing per crossing', async (t) => {
  const entry = [20, 230, 124, 230, 20, 230, 60, 200].map((v, i) => frame('Entry', 'gray', 20, 20, i + 1, v));
  const exit = [40, 200, 40, 200, 150].map((v, i) => frame('Exit', 'rgb24', 16, 10, i + 1, v));
  const node = await fakeNode(t, { cameras: ['Entry', 'Exit'], frames: { Entry: entry, Exit: exit } });
  const p = launch(t, { KUZET_PLUGIN_SOCKET: node.socketPath });
  const crossings = (cam) => node.posted.filter((e) => e.kind === 'line_crossing' && e.camera === cam);

  await node.until((ps) => ps.filter((e) => e.kind === 'line_crossing').length >= 5, 10000)
    .catch((err) => { throw new Error(`${err.message}\nstderr: ${p.stderr()}`); });
  await new Promise((r) => setTimeout(r, 300)); // nothing more may come

  const started = node.posted.filter((e) => e.kind === 'started');
  assert.deepStrictEqual(started.map((e) => e.data), [{ cameras: ['Entry', 'Exit'] }]);
  assert.deepStrictEqual(crossings('Entry').map((e) => e.data), [
    { count: 1, brightness: 230 }, { count: 2, brightness: 230 }, { count: 3, brightness: 200 },
  ]);
  assert.deepStrictEqual(crossings('Exit').map((e) => e.data), [
    { count: 1, brightness: 200 }, { count: 2, brightness: 200 },
  ]);
  for (const e of [...crossings('Entry'), ...crossings('Exit')]) assert.strictEqual(e.severity, 'info');
  assert.strictEqual(node.posted.length, 6);
});

test('linecount exits non-zero when a camera is refused', async (t) => {
  const node = await fakeNode(t, { cameras: ['Gone'], frames: {}, status: { Gone: 403 } });
  const { code, stderr } = await launch(t, { KUZET_PLUGIN_SOCKET: node.socketPath }).exited;
  assert.notStrictEqual(code, 0);
  assert.match(stderr, /camera Gone is not granted/);
});

test('linecount exits non-zero when not started by a node', async (t) => {
  const { code, stderr } = await launch(t, { KUZET_PLUGIN_SOCKET: '' }).exited;
  assert.notStrictEqual(code, 0);
  assert.match(stderr, /KUZET_PLUGIN_SOCKET is not set/);
});
