// Browser test of cameras a browser cannot play as they come (started by
// web/codecs_e2e_test.go): an H.265 and an M-JPEG camera play in the live
// view, the node transcoding what Chromium cannot decode. Prints each
// tile's codec choice as JSON on its last line.
//
// Environment: KUZET_UI_URL, KUZET_UI_SHOTS, KUZET_CHROMIUM.

import assert from 'node:assert/strict';
import path from 'node:path';
import { openBrowser } from './browser.mjs';

const BASE = (process.env.KUZET_UI_URL || '').replace(/\/$/, '');
const SHOTS = process.env.KUZET_UI_SHOTS || 'test-artifacts/ui-codecs';
if (!BASE) {
  console.error('KUZET_UI_URL is required');
  process.exit(2);
}
const { page, problems, close } = await openBrowser(SHOTS);
const cams = ['Hevc', 'Mjpeg'];

let failed = 0;
try {
  await page.goto(`${BASE}/`);
  await page.evaluate((tiles) => localStorage.setItem('kuzet.live', JSON.stringify({ layout: 4, tiles })), cams);
  await page.goto(`${BASE}/#/live`);
  const result = {};
  for (const cam of cams) {
    const tile = `.tile[data-camera="${cam}"]`;
    await page.waitForSelector(`${tile}[data-state="playing"]`, { timeout: 60000 });
    // frames decode and the clock moves: the picture is really there
    await page.waitForFunction((sel) => {
      const v = document.querySelector(`${sel} video`);
      return v && v.videoWidth > 0 && v.currentTime > 2;
    }, tile, { timeout: 30000 });
    const info = await page.$eval(tile, (el) => ({
      codec: el.dataset.codec, transport: el.dataset.transport,
      width: el.querySelector('video').videoWidth, title: el.querySelector('.tile-status') ? el.querySelector('.tile-status').title : '',
    }));
    assert.equal(info.transport, 'hls', `${cam} plays over HLS (WebRTC carries H.264 only)`);
    assert.equal(info.width, 640, `${cam}'s picture`);
    result[cam] = info;
  }
  assert.equal(result.Mjpeg.codec, 'h264', 'M-JPEG is transcoded everywhere');
  await page.screenshot({ path: path.join(SHOTS, 'live-codecs.png') });

  // the archive plays the recorded H.265 too, the same way the tile did;
  // once a dozen seconds are recorded, it opens the range they span and
  // plays its longest file from its start. Under load the files are timed
  // away from the wall clock (a recording is timed by the stream's clock,
  // which an encoder slower than real time leaves behind): the only file
  // of the last two minutes was once 5 s long while 12 s were recorded.
  // (polled from here: a page function that returns a promise is truthy
  // at once to waitForFunction, which then does not wait at all)
  let first, last;
  for (const deadline = Date.now() + 60000; ; await new Promise((r) => setTimeout(r, 1000))) {
    const now = Date.now();
    const q = new URLSearchParams({ camera: 'Hevc', from: new Date(now - 10 * 60000).toISOString(), to: new Date(now + 60000).toISOString() });
    const segs = await (await page.request.get(`${BASE}/api/v1/archive/segments?${q}`)).json();
    const recorded = segs.reduce((s, g) => s + (Date.parse(g.end) - Date.parse(g.start)), 0);
    if (recorded >= 12000) {
      first = Math.min(...segs.map((g) => Date.parse(g.start)));
      last = Math.max(...segs.map((g) => Date.parse(g.end)));
      break;
    }
    if (Date.now() > deadline) throw new Error(`${recorded} ms recorded after 60 s: ${JSON.stringify(segs)}`);
  }
  const from = new Date(first - 5000).toISOString();
  const to = new Date(Math.max(last, Date.now()) + 5000).toISOString();
  await page.goto(`${BASE}/#/archive?camera=Hevc&from=${from}&to=${to}`);
  try {
    await page.waitForSelector('#archive-timeline .tl-seg', { timeout: 60000 });
  } catch (e) {
    // what the page and the node held at the time, for the report
    const segs = await (await page.request.get(`${BASE}/api/v1/archive/segments?${new URLSearchParams({ camera: 'Hevc', from, to })}`, { failOnStatusCode: false })).text();
    const shown = await page.evaluate(() => ({ url: location.href, camera: document.querySelector('#archive-camera')?.value, info: document.querySelector('#archive-info')?.textContent }));
    throw new Error(`${e.message}\npage: ${JSON.stringify(shown)}\nsegments ${from} to ${to}: ${segs}`);
  }
  const segs = await page.$$('#archive-timeline .tl-seg');
  const boxes = await Promise.all(segs.map((s) => s.boundingBox()));
  const box = boxes.reduce((a, b) => (b.width > a.width ? b : a));
  await page.mouse.click(box.x + Math.min(5, box.width / 4), box.y + box.height / 2);
  try {
    await page.waitForFunction(() => {
      const v = document.querySelector('#archive-video');
      return v && v.videoWidth === 640 && v.currentTime > 2;
    }, null, { timeout: 60000 });
  } catch (e) {
    const shown = await page.evaluate(() => {
      const v = document.querySelector('#archive-video');
      return { status: document.querySelector('#archive-status')?.textContent, width: v?.videoWidth, time: v?.currentTime, src: v?.currentSrc, error: v?.error?.message };
    });
    throw new Error(`${e.message}\nclicked ${JSON.stringify(box)} of ${boxes.length} files\nplayer: ${JSON.stringify(shown)}`);
  }
  result.archive = await page.$eval('#archive-video', (v) => ({ codec: v.dataset.codec, status: document.querySelector('#archive-status').textContent }));
  assert.match(result.archive.status, /^Playing .*\d\d:\d\d:\d\d$/, 'the playhead follows the transcoded range');
  assert.equal(result.archive.codec, result.Hevc.codec, 'the archive plays the way live did');
  await page.screenshot({ path: path.join(SHOTS, 'archive-codecs.png') });
  assert.deepEqual(problems, [], 'no page errors or CSP refusals');
  console.log(`ok   H.265 (${result.Hevc.codec}) and M-JPEG (transcoded) play in the live view, and the H.265 recording in the archive`);
  console.log(JSON.stringify(result));
} catch (e) {
  failed++;
  console.log(`FAIL ${e.stack || e.message}`);
  await page.screenshot({ path: path.join(SHOTS, 'FAILED.png') }).catch(() => {});
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
