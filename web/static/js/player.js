// Video players on top of hls.js (LL-HLS for live, VOD for the archive;
// an archive range reaching into the present is an EVENT playlist that
// hls.js reloads as it grows, played from its start).
// A player keeps itself going: fatal errors and stalls rebuild it with
// backoff, so a camera that comes back is shown again without a click.

export const HLS_MISSING = 'Live and archive video need the hls.js player, which this build lacks: run `make web-deps` and rebuild the node.';

let hlsPromise = null;

export function hlsPresent() {
  const m = document.querySelector('meta[name="kuzet-hls"]');
  return !m || m.content === 'present';
}

// loadHls loads the vendored hls.js once, on first use.
export function loadHls() {
  if (hlsPromise) return hlsPromise;
  if (!hlsPresent()) return Promise.reject(new Error(HLS_MISSING));
  hlsPromise = new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = new URL('../vendor/hls.min.js', import.meta.url).href;
    s.onload = () => (window.Hls ? resolve(window.Hls) : reject(new Error(HLS_MISSING)));
    s.onerror = () => {
      hlsPromise = null;
      s.remove();
      reject(new Error(HLS_MISSING));
    };
    document.head.append(s);
  });
  return hlsPromise;
}

const STALL_MS = 8000;
const MAX_BACKOFF_MS = 15000;

export class Player {
  // onStatus(state, detail): state is loading | playing | stalled |
  // retrying | ended | error.
  constructor(video, { live = false, onStatus = () => {}, onFrag = () => {} } = {}) {
    this.video = video;
    this.live = live;
    this.onStatus = onStatus;
    this.onFrag = onFrag;
    this.hls = null;
    this.url = '';
    this.backoff = 1000;
    this.retryTimer = 0;
    this.watch = 0;
    this.lastTime = -1;
    this.lastProgress = 0;
    this.mediaRecovered = false;
    this.destroyed = false;
    this.state = '';
    video.muted = true; // autoplay is only allowed muted
    video.playsInline = true;
  }

  status(state, detail = '') {
    this.state = state;
    this.onStatus(state, detail);
  }

  async load(url, { startPosition = -1 } = {}) {
    if (url !== this.url) this.recentTries = 0;
    this.url = url;
    this.fileStart = null;
    this.startPosition = startPosition;
    this.teardown();
    this.status('loading');
    let Hls;
    try {
      Hls = await loadHls();
    } catch (e) {
      this.status('error', e.message);
      return;
    }
    if (this.destroyed || this.url !== url) return;
    if (!Hls.isSupported()) {
      // hls.js is preferred even where the browser claims HLS itself
      if (this.video.canPlayType('application/vnd.apple.mpegurl')) {
        this.video.src = url;
        this.video.play().catch(() => {});
        this.startWatch();
        return;
      }
      this.status('error', 'this browser cannot play HLS (no MediaSource)');
      return;
    }
    const cfg = this.live
      ? { lowLatencyMode: true, backBufferLength: 10, maxLiveSyncPlaybackRate: 1.5, liveDurationInfinity: true,
          manifestLoadingMaxRetry: 2, levelLoadingMaxRetry: 4, fragLoadingMaxRetry: 4 }
      : { lowLatencyMode: false, startPosition, backBufferLength: 60, maxBufferLength: 30 };
    const hls = new Hls({ enableWorker: true, ...cfg });
    this.hls = hls;
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      this.video.play().catch(() => {});
    });
    hls.on(Hls.Events.FRAG_CHANGED, (_, data) => this.onFrag(data.frag));
    // hls.js raises some fatal errors (a codec the browser cannot decode)
    // from inside its own loops: tearing it down there leaves them running
    // on a destroyed instance, so the answer waits for them to finish
    hls.on(Hls.Events.ERROR, (_, data) => {
      if (data.fatal) setTimeout(() => this.onFatal(hls, data, Hls));
    });
    hls.attachMedia(this.video);
    hls.loadSource(url);
    this.startWatch();
  }

  // onFatal rebuilds the player after a fatal error, or gives up on a
  // recorded range that cannot appear.
  onFatal(hls, data, Hls) {
    if (this.hls !== hls) return;
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !this.mediaRecovered) {
      this.mediaRecovered = true;
      hls.recoverMediaError();
      return;
    }
    const code = data.response && data.response.code;
    let why = data.details || data.type;
    if (code === 503) why = this.live ? 'camera not streaming (503)' : 'the start of this range is still being recorded';
    else if (code === 404) why = this.live ? 'no live stream here (404)' : 'nothing recorded in this range (404)';
    else if (code === 401) why = 'login expired (401)';
    else if (code === 403) why = 'not permitted (403)';
    else if (code) why = `${why} (HTTP ${code})`;
    if (!this.live && code >= 400 && code < 500 && !(code === 404 && this.recentRange())) {
      // a recorded range does not appear by asking again
      this.teardown();
      this.status('error', why);
      return;
    }
    this.retry(why);
  }

  // loadFile plays one MP4 the node streams as it makes it (an archive
  // range transcoded for this browser); start is the wall clock of its
  // first frame, for playingDate.
  loadFile(url, start) {
    this.teardown();
    this.url = url;
    this.fileStart = start;
    this.status('loading');
    this.video.src = url;
    this.video.play().catch(() => {});
    this.startWatch();
  }

  // recentRange: an archive range ending in the last two minutes may
  // still be on its way from the site (the file it writes, a segment
  // closing): a 404 there is asked again, up to six times with backoff
  recentRange() {
    if (this.live || (this.recentTries = (this.recentTries || 0) + 1) > 6) return false;
    try {
      const to = Date.parse(new URL(this.url, location.href).searchParams.get('to'));
      return Number.isFinite(to) && Date.now() - to < 120000;
    } catch {
      return false;
    }
  }

  startWatch() {
    clearInterval(this.watch);
    this.lastTime = this.video.currentTime;
    this.lastProgress = performance.now();
    this.watch = setInterval(() => this.check(), 500);
  }

  // check notices playback that stopped moving and restarts it.
  check() {
    const v = this.video;
    const now = performance.now();
    if (v.ended && !this.live) {
      this.status('ended');
      clearInterval(this.watch);
      return;
    }
    if (v.currentTime !== this.lastTime) {
      if (!v.paused && v.readyState >= 2) {
        if (this.state !== 'playing') this.status('playing');
        this.backoff = 1000;
        this.mediaRecovered = false;
      }
      this.lastTime = v.currentTime;
      this.lastProgress = now;
      return;
    }
    if (v.paused && this.state === 'playing') return; // the operator paused it
    if (now - this.lastProgress > STALL_MS) {
      this.retry('stalled: no new video for 8 s');
    } else if (now - this.lastProgress > 3000 && this.state === 'playing') {
      this.status('stalled', 'waiting for video');
    }
  }

  retry(why) {
    const resume = this.live ? -1 : Math.max(this.video.currentTime || 0, this.startPosition);
    this.teardown();
    const wait = this.backoff;
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    this.status('retrying', `${why}; retrying in ${Math.round(wait / 1000)} s`);
    const file = this.fileStart;
    this.retryTimer = setTimeout(() => {
      if (this.destroyed) return;
      if (file) this.loadFile(this.url, file);
      else this.load(this.url, { startPosition: resume });
    }, wait);
  }

  // latency is the distance to the live edge in seconds, when known.
  get latency() {
    if (!this.hls) return NaN;
    const l = this.hls.latency;
    return typeof l === 'number' && Number.isFinite(l) ? l : NaN;
  }

  // playingDate is the wall-clock time of the frame on screen.
  get playingDate() {
    if (this.fileStart) return new Date(+this.fileStart + this.video.currentTime * 1000);
    return this.hls ? this.hls.playingDate : null;
  }

  teardown() {
    clearTimeout(this.retryTimer);
    clearInterval(this.watch);
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
    }
    this.video.removeAttribute('src');
    this.video.load();
  }

  destroy() {
    this.destroyed = true;
    this.teardown();
  }
}
