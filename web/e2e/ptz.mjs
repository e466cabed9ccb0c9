// Browser test of the PTZ controls (started by web/ptz_e2e_test.go): a
// maximised tile of a PTZ camera shows them; holding an arrow turns the
// camera; a preset is saved and gone back to. Prints the final position
// as JSON on its last line.
//
// Environment: KUZET_UI_URL, KUZET_UI_SHOTS, KUZET_CHROMIUM.

import assert from 'node:assert/strict';
import path from 'node:path';
import { openBrowser } from './browser.mjs';

const BASE = (process.env.KUZET_UI_URL || '').replace(/\/$/, '');
const SHOTS = process.env.KUZET_UI_SHOTS || 'test-artifacts/ui-ptz';
if (!BASE) {
  console.error('KUZET_UI_URL is required');
  process.exit(2);
}
const { page, problems, close } = await openBrowser(SHOTS);
const position = async () => {
  const t = await page.textContent('#ptz-status');
  const m = t.match(/pan (-?[\d.]+) tilt (-?[\d.]+)/);
  assert.ok(m, `no position in "${t}"`);
  return { pan: Number(m[1]), tilt: Number(m[2]) };
};

let failed = 0;
try {
  await page.goto(`${BASE}/`);
  await page.evaluate(() => localStorage.setItem('kuzet.live', JSON.stringify({ layout: 1, tiles: ['Dome1'] })));
  await page.goto(`${BASE}/#/live`);
  await page.waitForSelector('.tile[data-camera="Dome1"]');
  await page.dblclick('.tile[data-camera="Dome1"] .tile-body');
  await page.waitForSelector('#ptz-panel');
  assert.match(await page.textContent('#ptz-status'), /pan 0\.00 tilt 0\.00 zoom 0\.00 · free/);
  const right = page.locator('#ptz-panel button[data-ptz="pan-right"]');
  await right.hover();
  await page.mouse.down();
  await page.waitForTimeout(700);
  await page.mouse.up();
  await page.waitForFunction(() => /held by local@gate/.test(document.querySelector('#ptz-status').textContent) &&
    /pan 0\.[1-9]/.test(document.querySelector('#ptz-status').textContent));
  const afterPan = await position();
  assert.ok(afterPan.pan > 0.1 && afterPan.tilt === 0, `after holding Pan right: ${JSON.stringify(afterPan)}`);
  await page.fill('#ptz-preset-name', 'Lane 2');
  await page.click('#ptz-save');
  await page.waitForSelector('#ptz-presets option:text("Lane 2")', { state: 'attached' });
  const up = page.locator('#ptz-panel button[data-ptz="tilt-up"]');
  await up.hover();
  await page.mouse.down();
  await page.waitForTimeout(500);
  await page.mouse.up();
  await page.waitForFunction(() => /tilt 0\.[1-9]/.test(document.querySelector('#ptz-status').textContent));
  await page.selectOption('#ptz-presets', { label: 'Lane 2' });
  await page.click('#ptz-goto');
  await page.waitForFunction(() => /tilt 0\.00/.test(document.querySelector('#ptz-status').textContent));
  const back = await position();
  assert.equal(back.pan, afterPan.pan, 'back at the preset');
  await page.locator('#ptz-panel').screenshot({ path: path.join(SHOTS, 'ptz-panel.png') });
  await page.screenshot({ path: path.join(SHOTS, 'live-ptz.png') });
  assert.deepEqual(problems, [], 'no page errors or CSP refusals');
  console.log('ok   holding an arrow turns the camera; a preset is saved and gone back to');
  console.log(JSON.stringify(back));
} catch (e) {
  failed++;
  console.log(`FAIL ${e.stack || e.message}`);
  await page.screenshot({ path: path.join(SHOTS, 'FAILED.png') }).catch(() => {});
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
