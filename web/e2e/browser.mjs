// The headless Chromium every browser test drives: a throw-away profile,
// a 1440×900 window in UTC, and the page's errors and CSP refusals
// collected for the test to assert on.
//
// Environment: KUZET_CHROMIUM (default /usr/bin/chromium).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export async function openBrowser(shots) {
  fs.mkdirSync(shots, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'kuzet-ui-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.KUZET_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 900 },
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  const page = browser.pages()[0] || (await browser.newPage());
  page.setDefaultTimeout(20000);
  const problems = [];
  page.on('pageerror', (e) => { problems.push(`page error: ${e.message}`); if (process.env.KUZET_UI_STACKS) console.log(e.stack); });
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
  return {
    page,
    problems,
    async close() {
      await browser.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
