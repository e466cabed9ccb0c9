// Browser test of finding cameras (started by web/discover_e2e_test.go):
// an engineer discovers the simulated ONVIF camera from the Tree view,
// describes it with its login and adds it; the node keeps no catalogue,
// so the console gives the lines for its file. Prints them as JSON on its
// last line.
//
// Environment: KUZET_UI_URL, KUZET_UI_SHOTS, KUZET_CHROMIUM, KUZET_ONVIF_TARGET.

import assert from 'node:assert/strict';
import path from 'node:path';
import { openBrowser } from './browser.mjs';

const BASE = (process.env.KUZET_UI_URL || '').replace(/\/$/, '');
const SHOTS = process.env.KUZET_UI_SHOTS || 'test-artifacts/ui-discover';
const TARGET = process.env.KUZET_ONVIF_TARGET || '';
if (!BASE || !TARGET) {
  console.error('KUZET_UI_URL and KUZET_ONVIF_TARGET are required');
  process.exit(2);
}
const { page, problems, close } = await openBrowser(SHOTS);

let failed = 0;
try {
  await page.goto(`${BASE}/#/tree`);
  await page.click('#discover summary');
  await page.fill('#discover-targets', TARGET);
  await page.fill('#discover-user', 'op');
  await page.fill('#discover-password', 'pw');
  await page.click('#discover-go');
  await page.waitForSelector('#discover-table tbody tr', { timeout: 30000 });
  assert.match(await page.textContent('#discover-status'), /^1 device answered/);
  await page.click('#discover-table tbody tr button');
  await page.waitForSelector('#discover-device');
  assert.match(await page.textContent('#discover-main'), /1280×720 H264/);
  assert.match(await page.textContent('#discover-sub'), /640×360 H264/);
  await page.fill('#discover-id', 'Dome7');
  await page.click('#discover-add');
  await page.waitForSelector('#discover-yaml');
  const yaml = await page.textContent('#discover-yaml');
  assert.match(yaml, /- id: Dome7\n\s+url: "rtsp:\/\/op:pw@/);
  assert.match(yaml, /onvif: http:\/\//);
  await page.locator('#discover').screenshot({ path: path.join(SHOTS, 'discover.png') });
  assert.deepEqual(problems, [], 'no page errors or CSP refusals');
  console.log('ok   the camera is found, described and given as lines for the node file');
  console.log(JSON.stringify({ yaml }));
} catch (e) {
  failed++;
  console.log(`FAIL ${e.stack || e.message}`);
  await page.screenshot({ path: path.join(SHOTS, 'FAILED.png') }).catch(() => {});
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
