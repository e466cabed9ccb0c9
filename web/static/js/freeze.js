// Frozen pictures: a camera (or an encoder, or a looped feed) can keep
// sending frames of one unchanging image while the player advances
// happily. A FreezeWatch samples the video into a tiny canvas once a
// second and reports the picture frozen once it has not changed for
// FROZEN_AFTER_MS while playback moved on.

export const FROZEN_AFTER_MS = 10000;
const W = 32;
const H = 18;
// mean absolute difference per channel below which two samples are the
// same picture: sensor noise and a running clock both stay well above it
const SAME_BELOW = 0.5;

// FrozenDetector is the judgement alone, fed with samples: testable
// without a browser.
export class FrozenDetector {
  constructor(after = FROZEN_AFTER_MS) {
    this.after = after;
    this.prev = null;
    this.since = 0; // when the picture last changed, while it stays the same
  }

  // sample takes one picture (RGBA bytes) at time now (ms) and playback
  // position pos (s); it returns the time the picture froze, or 0.
  sample(pixels, now, pos) {
    const prev = this.prev;
    this.prev = { pixels: pixels.slice(), pos };
    if (!prev || prev.pixels.length !== pixels.length) {
      this.since = 0;
      return 0;
    }
    if (pos === prev.pos) return this.frozenSince(now); // paused or stalled: not a frozen picture
    let diff = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      diff += Math.abs(pixels[i] - prev.pixels[i]) + Math.abs(pixels[i + 1] - prev.pixels[i + 1]) + Math.abs(pixels[i + 2] - prev.pixels[i + 2]);
    }
    const mean = diff / ((pixels.length / 4) * 3);
    if (mean >= SAME_BELOW) {
      this.since = 0;
      return 0;
    }
    if (!this.since) this.since = now;
    return this.frozenSince(now);
  }

  frozenSince(now) {
    return this.since && now - this.since >= this.after ? this.since : 0;
  }
}

// FreezeWatch samples a <video> once a second.
export class FreezeWatch {
  constructor(video) {
    this.video = video;
    this.detector = new FrozenDetector();
    this.canvas = document.createElement('canvas');
    this.canvas.width = W;
    this.canvas.height = H;
    this.ctx = this.canvas.getContext('2d', { willReadFrequently: true });
    this.frozen = 0;
    this.timer = setInterval(() => this.tick(), 1000);
  }

  tick() {
    const v = this.video;
    if (v.readyState < 2 || v.paused || !v.videoWidth) {
      this.detector = new FrozenDetector();
      this.frozen = 0;
      return;
    }
    try {
      this.ctx.drawImage(v, 0, 0, W, H);
      const px = this.ctx.getImageData(0, 0, W, H).data;
      this.frozen = this.detector.sample(px, Date.now(), v.currentTime);
    } catch {
      this.frozen = 0; // a picture the page may not read
    }
  }

  stop() {
    clearInterval(this.timer);
  }
}
