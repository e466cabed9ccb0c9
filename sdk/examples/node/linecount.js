#!/usr/bin/env node
// linecount: a Kuzet analytics plugin in plain Node.js (no packages).
//
// For each granted camera it watches the mean brightness of a horizontal
// band across the middle of the picture (rows 45%..55%) and posts
// line_crossing each time that brightness rises above LINECOUNT_THRESHOLD
// (default 128) after having been below it by more than 8 — a beam or a
// passing object crossing a line. The protocol is in docs/plugins.md.
'use strict';

const http = require('node:http');

const HYSTERESIS = 8;
const MAX_HEADER = 4096; // bytes of a frame header line, newline included
const MAX_FRAME = 64 << 20; // bytes of a frame's pixels
const RETRY_MS = 1000;

// ask sends one request to the node over the plugin's socket and resolves
// with the status and the whole answer.
function ask(socketPath, method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request({
      socketPath, method, path,
      headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {},
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

// errorOf reads the node's {"error": "..."} answer, or the text it sent.
function errorOf(res) {
  const text = res.body.toString('utf8').trim();
  try {
    const e = JSON.parse(text).error;
    if (typeof e === 'string') return `${res.status}: ${e}`;
  } catch { /* not JSON: keep the text */ }
  return `${res.status}: ${text.slice(0, 512)}`;
}

const formats = { gray: 1, rgb24: 3 };

// FrameParser cuts the frames stream into frames: a JSON header line,
// then header.bytes of pixels. Chunks may split a frame anywhere.
class FrameParser {
  constructor(onFrame) {
    this.onFrame = onFrame;
    this.head = []; // pieces of the header line read so far
    this.headLen = 0;
    this.header = null; // the header of the frame whose pixels are coming
    this.pix = null;
    this.got = 0;
  }

  // push takes the next chunk; it throws on a malformed stream, whose
  // place is then lost.
  push(chunk) {
    let off = 0;
    while (off < chunk.length) {
      if (this.header === null) {
        const nl = chunk.indexOf(0x0a, off);
        const end = nl === -1 ? chunk.length : nl;
        this.headLen += end - off;
        if (this.headLen + 1 > MAX_HEADER) throw new Error(`frame header longer than ${MAX_HEADER} bytes`);
        this.head.push(chunk.subarray(off, end));
        if (nl === -1) return;
        off = nl + 1;
        const line = Buffer.concat(this.head).toString('utf8').trim();
        this.head = [];
        this.headLen = 0;
        if (line === '') continue; // blank lines carry nothing
        this.header = checkHeader(JSON.parse(line));
        // The size is checked: at most MAX_FRAME.
        this.pix = Buffer.allocUnsafe(this.header.bytes);
        this.got = 0;
      } else {
        const n = Math.min(this.pix.length - this.got, chunk.length - off);
        chunk.copy(this.pix, this.got, off, off + n);
        this.got += n;
        off += n;
        if (this.got === this.pix.length) {
          const { header, pix } = this;
          this.header = null;
          this.pix = null;
          this.onFrame(header, pix);
        }
      }
    }
  }

  // midFrame tells whether the stream stopped inside a frame.
  midFrame() {
    return this.header !== null || this.headLen > 0;
  }
}

function checkHeader(h) {
  if (typeof h !== 'object' || h === null) throw new Error('frame header is not an object');
  const bpp = formats[h.format];
  if (!bpp) throw new Error(`frame header: unknown format ${JSON.stringify(h.format)}`);
  for (const f of ['width', 'height', 'bytes']) {
    if (!Number.isSafeInteger(h[f]) || h[f] <= 0) throw new Error(`frame header: bad ${f} ${JSON.stringify(h[f])}`);
  }
  const want = h.width * h.height * bpp;
  if (want > MAX_FRAME) throw new Error(`frame ${h.width}x${h.height} ${h.format} is over ${MAX_FRAME} bytes`);
  if (h.bytes !== want) throw new Error(`frame header: bytes is ${h.bytes}, ${h.width}x${h.height} ${h.format} takes ${want}`);
  return h;
}

// bandMean is the mean brightness of rows 45%..55% of the picture.
function bandMean(h, pix) {
  const bpp = formats[h.format];
  const y0 = Math.floor((h.height * 45) / 100);
  const y1 = Math.min(h.height, Math.max(y0 + 1, Math.ceil((h.height * 55) / 100)));
  const rowBytes = h.width * bpp;
  let sum = 0;
  for (let i = y0 * rowBytes; i < y1 * rowBytes; i++) sum += pix[i];
  // For rgb24 the sum holds r+g+b of each pixel: (r+g+b)/3 averaged.
  return sum / ((y1 - y0) * h.width * bpp);
}

// Counter counts rises of the brightness above threshold, each after a
// fall below threshold - hysteresis, so that noise around the threshold
// counts nothing.
class Counter {
  constructor(threshold, hysteresis) {
    this.high = threshold;
    this.low = threshold - hysteresis;
    this.below = false; // the first frame does not count, whatever it shows
    this.count = 0;
  }

  // observe returns true when m completes a crossing.
  observe(m) {
    if (m < this.low) {
      this.below = true;
    } else if (m > this.high && this.below) {
      this.below = false;
      this.count++;
      return true;
    }
    return false;
  }
}

function log(...args) {
  console.error('linecount:', ...args);
}

function fatal(msg) {
  log('fatal:', msg);
  process.exit(1); // the node starts the plugin again
}

async function post(socketPath, event) {
  try {
    const res = await ask(socketPath, 'POST', '/v1/events', event);
    if (res.status === 429) log(`${event.kind} refused: over events_per_minute`);
    else if (res.status < 200 || res.status > 299) log(`${event.kind} refused: ${errorOf(res)}`);
  } catch (err) {
    log(`${event.kind} not posted: ${err.message}`);
  }
}

// watch reads a camera's frames for as long as the plugin runs, asking
// again 1 s after a stream ends. A refusal (4xx) is fatal: the restarted
// plugin reads its grants afresh.
function watch(socketPath, camera, threshold) {
  const counter = new Counter(threshold, HYSTERESIS);
  const start = () => {
    let retried = false;
    const retry = (why) => {
      if (retried) return;
      retried = true;
      log(`${camera}: frames stream ended (${why}); asking again in ${RETRY_MS} ms`);
      setTimeout(start, RETRY_MS);
    };
    const req = http.get({ socketPath, path: `/v1/frames?camera=${encodeURIComponent(camera)}` }, (res) => {
      if (res.statusCode !== 200) {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const msg = errorOf({ status: res.statusCode, body: Buffer.concat(chunks) });
          if (res.statusCode >= 400 && res.statusCode < 500) fatal(`${camera}: frames refused: ${msg}`);
          retry(msg);
        });
        return;
      }
      const parser = new FrameParser((h, pix) => {
        const m = bandMean(h, pix);
        if (counter.observe(m)) {
          post(socketPath, {
            kind: 'line_crossing', camera, severity: 'info', time: h.time || undefined,
            data: { count: counter.count, brightness: Math.round(m * 10) / 10 },
          });
        }
      });
      res.on('data', (chunk) => {
        try {
          parser.push(chunk);
        } catch (err) {
          res.destroy();
          retry(err.message);
        }
      });
      res.on('end', () => retry(parser.midFrame() ? 'cut inside a frame' : 'closed by the node'));
      res.on('error', (err) => retry(err.message));
    });
    req.on('error', (err) => retry(err.message));
  };
  start();
}

async function main() {
  const socketPath = process.env.KUZET_PLUGIN_SOCKET;
  if (!socketPath) fatal('KUZET_PLUGIN_SOCKET is not set: a plugin is started by a Kuzet node');
  if (process.env.KUZET_PLUGIN_PROTOCOL !== '1') {
    fatal(`the node speaks plugin protocol ${JSON.stringify(process.env.KUZET_PLUGIN_PROTOCOL)}, linecount speaks 1`);
  }
  const threshold = Number(process.env.LINECOUNT_THRESHOLD ?? 128);
  if (!Number.isFinite(threshold)) fatal(`LINECOUNT_THRESHOLD ${process.env.LINECOUNT_THRESHOLD} is not a number`);

  const res = await ask(socketPath, 'GET', '/v1/hello');
  if (res.status !== 200) fatal(`hello: ${errorOf(res)}`);
  const hello = JSON.parse(res.body.toString('utf8'));
  if (hello.protocol !== 1) fatal(`the node speaks plugin protocol ${hello.protocol}, linecount speaks 1`);
  const cameras = Array.isArray(hello.cameras) ? hello.cameras : [];
  log(`started on node ${hello.node} with cameras ${JSON.stringify(cameras)}, threshold ${threshold}`);

  await post(socketPath, { kind: 'started', severity: 'info', data: { cameras } });
  for (const camera of cameras) watch(socketPath, camera, threshold);
  // With no camera, stay up idle: exiting would only have the node
  // start the plugin again.
  if (cameras.length === 0) setInterval(() => {}, 1 << 30);
}

if (require.main === module) {
  main().catch((err) => fatal(err.message));
}

module.exports = { FrameParser, bandMean, Counter, checkHeader };
