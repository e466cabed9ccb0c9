// Browser test of the uncertain-reads queue against a running Kuzet node
// (started by web/uncertain_e2e_test.go with its reads in the queue).
//
// Environment: KUZET_UI_URL (required), KUZET_UI_READS (required: JSON
// {r1..r6: read ID}, see the Go test), KUZET_UI_SHOTS (screenshot
// directory, default test-artifacts/ui-uncertain), KUZET_CHROMIUM
// (default /usr/bin/chromium). Exit status 0 only when every step passed.

import assert from 'node:assert/strict';
import path from 'node:path';
import { openBrowser } from './browser.mjs';

const BASE = (process.env.KUZET_UI_URL || '').replace(/\/$/, '');
const READS = JSON.parse(process.env.KUZET_UI_READS || '{}');
const SHOTS = process.env.KUZET_UI_SHOTS || 'test-artifacts/ui-uncertain';
const LOGINS = { operator: 'kuzet-operator', viewer: 'kuzet-viewer' };
const T = { ui: 20000 };

if (!BASE || !READS.r1) {
  console.error('KUZET_UI_URL and KUZET_UI_READS are required');
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
  await page.fill('#login-password', LOGINS[user]);
  await page.click('#login-submit');
  await page.waitForSelector('#app:not([hidden])');
}

async function logout() {
  await page.click('#logout');
  await page.waitForSelector('#login-screen:not([hidden])');
}

const ids = () => page.$$eval('#uncertain-list .qcard', (cs) => cs.map((c) => c.dataset.id));
const selectedId = () => page.$eval('#uncertain-list .qcard[aria-selected="true"]', (c) => c.dataset.id);
const waitBadge = (v) => page.waitForFunction((x) => document.querySelector('#uncertain-count')?.textContent === x, v);
const waitIds = (want) => page.waitForFunction((w) =>
  JSON.stringify([...document.querySelectorAll('#uncertain-list .qcard')].map((c) => c.dataset.id)) === JSON.stringify(w), want);

try {
  await step('operator sees the count and opens the queue from the navigation', async () => {
    await login('operator');
    await waitBadge('5');
    await page.click('#nav a[data-view="uncertain"]');
    await page.waitForSelector('section.view-uncertain');
    await waitIds([READS.r4, READS.r3, READS.r2, READS.r1, READS.r6]);
    assert.equal(await page.textContent('#uncertain-total'), '5 waiting');
    assert.match(await page.textContent('#uncertain-summary'), /5 reads below 90 % wait for review/);
    assert.equal(await selectedId(), READS.r4, 'the newest read is selected');
    assert.equal(await page.$(`#uncertain-list .qcard[data-id="${READS.r5}"]`), null, 'a confident read is not queued');
    const first = `#uncertain-list .qcard[data-id="${READS.r1}"]`;
    assert.equal(await page.textContent(`${first} .q-plate`), '123ABD02');
    assert.equal(await page.textContent(`${first} .q-conf`), '55 %');
    assert.deepEqual(await page.$$eval(`${first} .q-cands button.cand`, (bs) => bs.map((b) => b.dataset.plate)), ['123ABD02', '123ABC02']);
    await page.waitForFunction(() => [...document.querySelectorAll('#uncertain-list img.q-crop')].every((i) => i.complete && i.naturalWidth > 0));
    await shot('queue');
  });

  await step('the overview enlarges with a click and closes with Esc', async () => {
    await page.click(`#uncertain-list .qcard[data-id="${READS.r3}"] .q-overview`);
    await page.waitForSelector('#uncertain-photo[open]');
    await page.waitForFunction(() => { const i = document.querySelector('#uncertain-photo-img'); return i && i.complete && i.naturalWidth === 640; });
    await shot('overview');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#uncertain-photo', { state: 'detached' });
    assert.equal(await selectedId(), READS.r3, 'the clicked read is selected');
  });

  await step('j/k move; Enter confirms the selected read', async () => {
    await page.keyboard.press('k');
    assert.equal(await selectedId(), READS.r4);
    for (const k of ['j', 'j', 'j', 'k', 'j']) await page.keyboard.press(k);
    assert.equal(await selectedId(), READS.r1);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset?.id), await selectedId(), 'the selected read has the focus');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#uncertain-status.ok');
    assert.match(await page.textContent('#uncertain-status'), new RegExp(`Confirmed 123ABD02 \\(read ${READS.r1}, event centre/\\d+\\)`));
    await waitIds([READS.r4, READS.r3, READS.r2, READS.r6]);
    await waitBadge('4');
    assert.equal(await selectedId(), READS.r6, 'the next read is selected');
    await shot('confirmed');
  });

  await step('a candidate corrects with one click', async () => {
    await page.click(`#uncertain-list .qcard[data-id="${READS.r6}"] button.cand[data-plate="KZ7774"]`);
    await page.waitForFunction((id) => document.querySelector('#uncertain-status').textContent.includes(`Corrected KZ777A → KZ7774 (read ${id}`), READS.r6);
    await waitIds([READS.r4, READS.r3, READS.r2]);
    assert.equal(await selectedId(), READS.r2);
  });

  await step('typing replaces the plate, Esc undoes, Enter corrects', async () => {
    const input = `#uncertain-list .qcard[data-id="${READS.r2}"] .q-input`;
    await page.keyboard.type('X9');
    assert.equal(await page.inputValue(input), 'X9');
    assert.equal(await page.isDisabled(`#uncertain-list .qcard[data-id="${READS.r2}"] .q-confirm`), true, 'an edit is not confirmed away');
    await page.keyboard.press('Escape');
    assert.equal(await page.inputValue(input), 'A123BC7');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset?.id), READS.r2, 'Esc returns to the read');
    await page.keyboard.type('A123BC77');
    assert.equal(await page.inputValue(input), 'A123BC77');
    assert.ok(await page.$(`#uncertain-list .qcard.edited[data-id="${READS.r2}"]`), 'the edit shows');
    await shot('editing');
    await page.keyboard.press('Enter');
    await page.waitForFunction((id) => document.querySelector('#uncertain-status').textContent.includes(`Corrected A123BC7 → A123BC77 (read ${id}`), READS.r2);
    await waitIds([READS.r4, READS.r3]);
    await waitBadge('2');
    assert.equal(await selectedId(), READS.r3);
  });

  await step('a read confirmed elsewhere meanwhile: the error is shown and the queue catches up', async () => {
    const res = await page.evaluate(async (id) => {
      const me = await (await fetch('/api/v1/auth/me')).json();
      const [node, seq] = [id.slice(0, id.lastIndexOf('/')), id.slice(id.lastIndexOf('/') + 1)];
      const r = await fetch(`/api/v1/plates/${node}/${seq}/confirm`, { method: 'POST', headers: { 'X-CSRF-Token': me.csrf_token } });
      return r.status;
    }, READS.r3);
    assert.equal(res, 200);
    assert.equal(await selectedId(), READS.r3);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#uncertain-error:not([hidden])');
    assert.match(await page.textContent('#uncertain-error'),
      new RegExp(`Not confirmed \\(read ${READS.r3}\\): plate read ${READS.r3} was already confirmed as AA1234BB by operator`));
    await waitIds([READS.r4]);
    await shot('conflict');
    await logout();
  });

  await step('a viewer sees the queue read-only', async () => {
    await login('viewer');
    await waitBadge('1');
    await page.goto(`${BASE}/#/uncertain`);
    await waitIds([READS.r4]);
    await page.waitForSelector('#uncertain-readonly');
    assert.equal(await page.$('#uncertain-list .q-input'), null, 'no plate field');
    assert.equal(await page.$('#uncertain-list button[data-action]'), null, 'no confirm or correct buttons');
    assert.equal(await page.$('#uncertain-list button.cand'), null, 'candidates are not choices');
    assert.ok(await page.$('#uncertain-list span.cand'), 'candidates are listed');
    await page.keyboard.press('Enter');
    await page.keyboard.press('a');
    await page.waitForTimeout(500);
    assert.equal(await page.textContent('#uncertain-status'), '', 'nothing was sent');
    await waitIds([READS.r4]);
    await shot('viewer');
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
