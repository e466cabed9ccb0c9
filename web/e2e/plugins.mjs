// Browser test of the Plugins view against a running Kuzet node (started
// by web/plugins_e2e_test.go with plugins ticker, crashy and absent).
//
// Environment: KUZET_UI_URL (required), KUZET_UI_SHOTS (screenshot
// directory, default test-artifacts/ui-plugins), KUZET_CHROMIUM (default
// /usr/bin/chromium). Exit status 0 only when every step passed.

import assert from 'node:assert/strict';
import path from 'node:path';
import { openBrowser } from './browser.mjs';

const BASE = (process.env.KUZET_UI_URL || '').replace(/\/$/, '');
const SHOTS = process.env.KUZET_UI_SHOTS || 'test-artifacts/ui-plugins';
const T = { ui: 20000, failed: 45000 };

if (!BASE) {
  console.error('KUZET_UI_URL is required');
  process.exit(2);
}
const { page, problems, close } = await openBrowser(SHOTS);
page.setDefaultTimeout(T.ui);

let failed = 0;
let n = 0;
const started = Date.now();

async function shot(name) {
  await page.screenshot({ path: path.join(SHOTS, `${String(++n).padStart(2, '0')}-${name}.png`) });
}

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.stack || e.message}`);
    await page.screenshot({ path: path.join(SHOTS, `FAILED-${name.replace(/[^a-z0-9]+/gi, '-')}.png`) }).catch(() => {});
    throw e;
  }
}

async function login(user) {
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#login-screen:not([hidden])');
  await page.fill('#login-user', user);
  await page.fill('#login-password', `kuzet-${user}`);
  await page.click('#login-submit');
  await page.waitForSelector('#app:not([hidden])');
}

async function logout() {
  await page.click('#logout');
  await page.waitForSelector('#login-screen:not([hidden])');
}

// every answer to the list, to tell the view's polling apart
const lists = [];
page.on('response', (r) => {
  if (new URL(r.url()).pathname === '/api/v1/plugins' && r.request().method() === 'GET') lists.push({ at: Date.now(), status: r.status() });
});

const row = (name) => `#plugins-table tr.plugin-row[data-plugin="${name}"]`;
const cell = (name, c) => page.textContent(`${row(name)} td.${c}`);
const rowNames = () => page.$$eval('#plugins-table tr.plugin-row', (rs) => rs.map((r) => r.dataset.plugin));
const waitState = (name, state, timeout) => page.waitForFunction(([s, st]) => document.querySelector(s)?.dataset.state === st,
  [row(name), state], { timeout });
// the badge's colours as the page paints them: its text colour and background
const badge = (name) => page.$eval(`${row(name)} .plugin-state`, (b) => {
  const cs = getComputedStyle(b);
  return { text: b.textContent, color: cs.color, background: cs.backgroundColor };
});
const GREEN = 'rgb(63, 185, 80)';
const AMBER = 'rgb(227, 162, 26)';
const RED_BG = 'rgb(122, 20, 20)';

try {
  await step('a viewer has no Plugins entry and is told the view is for engineers', async () => {
    await login('viewer');
    assert.equal(await page.isHidden('#nav a[data-view="plugins"]'), true, 'no nav entry below engineer');
    await page.goto(`${BASE}/#/plugins`);
    await page.waitForSelector('#plugins-refused');
    assert.match(await page.textContent('#plugins-refused'), /Not permitted.*for engineers.*\(403\)/s);
    assert.equal(await page.isHidden('#plugins-table'), true, 'no empty table');
    assert.equal(lists.at(-1).status, 403);
    await shot('viewer-refused');
    await logout();
  });

  await step('an engineer opens Plugins: rows worst first, badges, counters, last error', async () => {
    await login('engineer');
    await page.click('#nav a[data-view="plugins"]');
    await page.waitForSelector(row('ticker'));
    const names = await rowNames();
    assert.deepEqual([...names].sort(), ['absent', 'crashy', 'ticker']);
    assert.equal(names.at(-1), 'ticker', 'the running plugin comes last');
    // crashy runs for milliseconds at a time: a refresh may catch it running
    await page.waitForFunction(() => /^3 plugins, 1 running, 2 not · asked \d\d:\d\d:\d\d$/.test(document.querySelector('#plugins-summary').textContent));

    assert.deepEqual(await badge('ticker'), { text: 'running', color: GREEN, background: 'rgba(0, 0, 0, 0)' });
    assert.match(await cell('ticker', 'plugin-name'), /^▸ ticker pid \d+$/);
    assert.match(await cell('ticker', 'plugin-up'), /^\d+ s$/);
    assert.equal(await cell('ticker', 'plugin-restarts'), '0');
    assert.equal(await cell('ticker', 'plugin-frames'), '0 / 0');
    assert.equal(await cell('ticker', 'plugin-events'), '0 / 0');
    assert.equal(await cell('ticker', 'plugin-cameras'), 'Gate1');
    assert.equal(await cell('ticker', 'plugin-error'), '');

    assert.deepEqual(await badge('absent'), { text: 'failed', color: 'rgb(255, 255, 255)', background: RED_BG });
    assert.equal(await cell('absent', 'plugin-up'), '—');
    assert.match(await cell('absent', 'plugin-error'), /^plugin absent is not installed in \/.*installed/);
    assert.equal(await cell('absent', 'plugin-cameras'), 'Gate1');

    // crashy is still restarting with backoff, or already failed: amber or red
    const c = await badge('crashy');
    assert.ok(['restarting', 'failed', 'running'].includes(c.text), c.text);
    if (c.text === 'restarting') assert.equal(c.color, AMBER);
    if (c.text === 'failed') assert.equal(c.background, RED_BG);
    assert.equal(await cell('crashy', 'plugin-cameras'), '—');
    await shot('engineer-list');
  });

  await step('Restart on ticker: pending, then asked, and the plugin runs again with a new process', async () => {
    const pid = await page.getAttribute(row('ticker'), 'data-pid');
    // hold the POST back a little, so that its pending state can be seen
    await page.route('**/api/v1/plugins/ticker/restart', async (r) => { await new Promise((ok) => setTimeout(ok, 500)); await r.continue(); });
    const answered = page.waitForResponse((r) => r.url().endsWith('/api/v1/plugins/ticker/restart') && r.request().method() === 'POST');
    await page.click(`${row('ticker')} button.restart`);
    await page.waitForSelector(`${row('ticker')} button.restart[disabled][aria-busy="true"]`);
    assert.equal(await page.textContent(`${row('ticker')} button.restart`), 'Restarting…');
    const res = await answered;
    assert.equal(res.status(), 202);
    assert.ok(res.request().headers()['x-csrf-token'], 'the POST carries the CSRF token');
    await page.unroute('**/api/v1/plugins/ticker/restart');
    await page.waitForSelector(`${row('ticker')} .restart-msg.st-online`);
    assert.match(await page.textContent(`${row('ticker')} .restart-msg`), /^Restart asked at \d\d:\d\d:\d\d$/);
    assert.equal(await page.isEnabled(`${row('ticker')} button.restart`), true);
    await page.waitForFunction(([s, old]) => {
      const r = document.querySelector(s);
      return r && r.dataset.state === 'running' && r.dataset.pid && r.dataset.pid !== old && r.querySelector('.plugin-restarts').textContent === '1';
    }, [row('ticker'), pid]);
    await shot('ticker-restarted');
  });

  await step('Restart on absent is refused (409) and the node\'s reason is shown', async () => {
    const answered = page.waitForResponse((r) => r.url().endsWith('/api/v1/plugins/absent/restart'));
    await page.click(`${row('absent')} button.restart`);
    const res = await answered;
    assert.equal(res.status(), 409);
    const said = (await res.json()).error;
    assert.match(said, /^plugin absent cannot run here: plugin absent is not installed in /);
    await page.waitForSelector(`${row('absent')} .restart-msg.st-offline[role="alert"]`);
    assert.equal(await page.textContent(`${row('absent')} .restart-msg`), `Not restarted: ${said}`);
    assert.equal(await page.isEnabled(`${row('absent')} button.restart`), true);
    await shot('absent-refused');
  });

  await step('crashy turns failed by itself, red, with its last error; its row opens to its output', async () => {
    await waitState('crashy', 'failed', T.failed); // five exits with backoff: about 15 s after the start
    assert.equal((await badge('crashy')).background, RED_BG);
    assert.equal(await cell('crashy', 'plugin-error'), 'exited: exit status 3');
    assert.ok(Number(await cell('crashy', 'plugin-restarts')) >= 5);
    assert.equal(await page.$('#plugins-table tr.plugin-output'), null, 'rows are closed at first');
    await page.click(`${row('crashy')} td.plugin-name`);
    await page.waitForSelector('#plugins-table tr.plugin-output[data-plugin="crashy"] pre.plugin-stderr');
    assert.equal(await page.getAttribute(row('crashy'), 'aria-expanded'), 'true');
    // a restart empties the lines for a moment: wait for them, not for one render
    await page.waitForFunction(() => document.querySelector('tr.plugin-output[data-plugin="crashy"] pre')?.textContent ===
      'crashy: loading model /opt/fire/model.onnx\ncrashy: error: model file not found');
    assert.equal(await page.$eval('tr.plugin-output pre', (p) => getComputedStyle(p).fontFamily.includes('mono')), true, 'monospace');
    assert.equal((await rowNames())[0], 'absent', 'failed rows first');
    await shot('crashy-output');
  });

  await step('the list refreshes every 5 s while shown, the opened row stays open, and stops when left', async () => {
    await page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/plugins' && r.request().method() === 'GET', { timeout: 7000 });
    const gap = lists.at(-1).at - lists.at(-2).at;
    assert.ok(gap > 4000 && gap < 7000, `refreshed after ${gap} ms`);
    await page.waitForSelector('#plugins-table tr.plugin-output[data-plugin="crashy"]');
    await page.click('#nav a[data-view="health"]');
    await page.waitForSelector('section.view-health');
    const left = lists.length;
    await page.waitForTimeout(5600);
    assert.equal(lists.length, left, 'no requests once the view is left');
  });

  await step('a node without plugins says so and points to docs/plugins.md', async () => {
    // the node here runs plugins: its answer is replaced by an empty list
    await page.route('**/api/v1/plugins', (r) => r.fulfill({ status: 200, contentType: 'application/json', body: '[]' }));
    await page.click('#nav a[data-view="plugins"]');
    await page.waitForSelector('#plugins-empty');
    assert.match(await page.textContent('#plugins-empty'), /This node runs no analytics plugins\..*see docs\/plugins\.md\./);
    assert.equal(await page.isHidden('#plugins-table'), true);
    assert.equal(await page.textContent('#plugins-summary').then((s) => s.startsWith('0 plugins, 0 running')), true);
    await shot('empty');
    await page.unroute('**/api/v1/plugins');
    await logout();
  });

  assert.deepEqual(problems, [], 'no page errors or CSP refusals');
} catch {
  // reported by step()
} finally {
  await close();
}
if (problems.length) {
  console.log(`page problems:\n  ${problems.join('\n  ')}`);
  failed ||= 1;
}
console.log(`${failed ? 'FAILED' : 'passed'} in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${SHOTS}`);
process.exit(failed ? 1 : 0);
