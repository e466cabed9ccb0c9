// Browser test of a sealed vehicle's read (started by
// web/seals_e2e_test.go): the read's detail shows its seal abnormal and
// the seal's track plotted against the declared route.
//
// Environment: KUZET_UI_URL, KUZET_UI_SEALS (JSON {read, plate, seal,
// reports}), KUZET_UI_SHOTS, KUZET_CHROMIUM. Exit status 0 only when
// every step passed.

import assert from 'node:assert/strict';
import path from 'node:path';
import { openBrowser } from './browser.mjs';

const BASE = (process.env.KUZET_UI_URL || '').replace(/\/$/, '');
const S = JSON.parse(process.env.KUZET_UI_SEALS || '{}');
const SHOTS = process.env.KUZET_UI_SHOTS || 'test-artifacts/ui-seals';

if (!BASE || !S.read) {
  console.error('KUZET_UI_URL and KUZET_UI_SEALS are required');
  process.exit(2);
}
const { page, problems, close } = await openBrowser(SHOTS);

let failed = 0;
try {
  await page.goto(`${BASE}/#/plates?plate=${S.plate}&match=exact`);
  await page.waitForSelector(`#plate-results tr[data-id="${S.read}"]`);
  await page.click(`#plate-results tr[data-id="${S.read}"]`);
  await page.waitForSelector('#seal-panel:not([hidden])');
  assert.equal(await page.textContent('#seal-state'), 'abnormal: 03');
  assert.match(await page.textContent('#seal-panel .seal-anomalies'), /03 off the declared route — \d+\.\d km from the declared route \(limit 50 km\)/);
  assert.match(await page.textContent('#seal-panel'), /RU-7700123456/);
  assert.match(await page.textContent('#seal-crossings'), /Read 1 time while sealed/);
  assert.equal(await page.$$eval('#seal-plot polyline.seal-route', (e) => e.length), 1, 'the route is drawn');
  assert.equal(await page.$$eval('#seal-plot polyline.seal-track', (e) => e.length), 1, 'the track is drawn');
  assert.equal(await page.$$eval('#seal-plot circle.seal-point', (e) => e.length), S.reports, 'every report is a dot');
  assert.equal(await page.$$eval('#seal-plot circle.seal-last.abnormal', (e) => e.length), 1, 'the last report is ringed as abnormal');
  assert.match(await page.textContent('#seal-plot .seal-plot-legend'), /≈ \d+ km across · dashed: declared route · dots: 12 reports/);
  // the last report lies east (right) of every vertex of the route
  const [lastX, routeMax] = await page.evaluate(() => {
    const last = document.querySelector('#seal-plot circle.seal-last');
    const xs = document.querySelector('#seal-plot polyline.seal-route').getAttribute('points').split(' ').map((p) => +p.split(',')[0]);
    return [+last.getAttribute('cx'), Math.max(...xs)];
  });
  assert.ok(lastX > routeMax, `the last report (x ${lastX}) is right of the route (max x ${routeMax})`);
  await page.locator('#seal-panel').screenshot({ path: path.join(SHOTS, 'seal-panel.png') });
  await page.screenshot({ path: path.join(SHOTS, 'plate-read.png') });
  assert.deepEqual(problems, [], 'no page errors or CSP refusals');
  console.log('ok   a sealed vehicle\'s read shows its seal abnormal and its track against the route');
} catch (e) {
  failed++;
  console.log(`FAIL ${e.stack || e.message}`);
  await page.screenshot({ path: path.join(SHOTS, 'FAILED.png') }).catch(() => {});
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
