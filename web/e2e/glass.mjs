// Glass-to-glass delay in Chromium: the console's own players play one
// camera over WebRTC and over LL-HLS (hls.js) side by side, and every
// frame shown is compared with the wall clock it carries from the site
// (WebRTC: its RTP timestamp; HLS: hls.js's playingDate, from the
// segments' PROGRAM-DATE-TIME). Prints one JSON line per node.
//
//   KUZET_GLASS_URLS="site=http://127.0.0.1:8080 centre=http://127.0.0.1:8081"
//   KUZET_GLASS_CAMERAS="site=Camera1 centre=demo-site/Camera1"
//   KUZET_GLASS_SECONDS=20 KUZET_CHROMIUM=/usr/bin/chromium node glass.mjs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const pairs = (s) => Object.fromEntries((s || '').split(/\s+/).filter(Boolean).map((p) => p.split('=')));
const URLS = pairs(process.env.KUZET_GLASS_URLS);
const CAMS = pairs(process.env.KUZET_GLASS_CAMERAS);
const SECONDS = Number(process.env.KUZET_GLASS_SECONDS || 20);
const WARMUP = Number(process.env.KUZET_GLASS_WARMUP || 4);
const USER = process.env.KUZET_GLASS_USER || 'viewer';
const PASSWORD = process.env.KUZET_GLASS_PASSWORD || 'kuzet-viewer';

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'kuzet-glass-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.KUZET_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--autoplay-policy=no-user-gesture-required'],
  viewport: { width: 1280, height: 720 },
});
try {
  for (const [name, base] of Object.entries(URLS)) {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.waitForSelector('#login-screen:not([hidden])');
    await page.fill('#login-user', USER);
    await page.fill('#login-password', PASSWORD);
    await page.click('#login-submit');
    await page.waitForSelector('#app:not([hidden])');
    const out = await page.evaluate(async ([cam, seconds, warmup]) => {
      // the console's own module instance (its session holds the CSRF token)
      const app = document.querySelector('script[type="module"][src$="/js/app.js"]').src;
      const { LivePlayer } = await import(app.replace(/app\.js$/, 'webrtc.js'));
      const stats = {};
      const run = (transport) => new Promise((resolve) => {
        const video = document.createElement('video');
        video.width = 640;
        document.body.append(video);
        const p = new LivePlayer(video, { key: cam, hlsUrl: `/live/${cam}/index.m3u8`, prefer: transport });
        p.load();
        const samples = [];
        const t0 = performance.now();
        let firstFrame = NaN;
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          const s = samples.sort((a, b) => a - b);
          const q = (f) => (s.length ? s[Math.min(s.length - 1, Math.floor(f * s.length))] : NaN);
          resolve({ transport: p.transport, why: p.why, frames: s.length, first_frame_s: firstFrame,
            p50: q(0.5), p95: q(0.95), max: s.length ? s[s.length - 1] : NaN, width: video.videoWidth });
          p.destroy();
        };
        // a player that never shows a frame still ends the run
        setTimeout(finish, (warmup + seconds + 20) * 1000);
        const onFrame = (now, meta) => {
          const inner = p.inner;
          if (p.transport === transport && inner) {
            if (Number.isNaN(firstFrame)) firstFrame = (now - t0) / 1000;
            const shown = performance.timeOrigin + (meta.expectedDisplayTime || now);
            let delay = NaN;
            if (transport === 'webrtc') delay = inner.latency;
            else if (inner.playingDate) delay = (shown - inner.playingDate.getTime()) / 1000;
            if (now - t0 > warmup * 1000 && Number.isFinite(delay)) samples.push(delay);
          }
          if (now - t0 < (warmup + seconds) * 1000) video.requestVideoFrameCallback(onFrame);
          else finish();
        };
        video.requestVideoFrameCallback(onFrame);
      });
      const [w, h] = await Promise.all([run('webrtc'), run('hls')]);
      stats.webrtc = w;
      stats.hls = h;
      return stats;
    }, [CAMS[name] || 'Camera1', SECONDS, WARMUP]);
    console.log(JSON.stringify({ node: name, camera: CAMS[name] || 'Camera1', ...out }));
    await page.close();
  }
} finally {
  await browser.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
