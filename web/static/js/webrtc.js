// Live over WebRTC (WHEP): the node answers an SDP offer and sends the
// camera's H.264 as RTP, a fraction of a second behind the camera. Each
// RTP timestamp is the frame's wall clock (90 kHz ticks mod 2^32), so the
// tile knows how far behind the camera it is. LivePlayer prefers WebRTC
// and falls back to LL-HLS (player.js) where WebRTC cannot play: no UDP
// path to the node, an H.265 camera, WebRTC off on the node.

import { session } from './api.js';
import { Player } from './player.js';

const CONNECT_MS = 6000; // offer to first frame, else HLS
const STALL_MS = 8000;
const MAX_BACKOFF_MS = 15000;
const TICKS_PER_MS = 90;
const TURN = 2 ** 32;

// wallFromRtp is the wall clock (ms) an RTP timestamp stands for: the turn
// of the 2^32 cycle nearest nearMs (a turn lasts 13.25 h).
export function wallFromRtp(ts, nearMs) {
  const cur = Math.floor(nearMs * TICKS_PER_MS) % TURN;
  let d = (ts - cur) % TURN;
  if (d < 0) d += TURN;
  if (d >= TURN / 2) d -= TURN;
  return nearMs + d / TICKS_PER_MS;
}

// Refused is an answer other than 201; retry says whether asking WebRTC
// again may help (the camera is down, the site unreachable).
class Refused extends Error {
  constructor(status, text) {
    super(`${text.trim() || 'refused'} (${status})`);
    this.status = status;
    this.retry = status === 502 || (status === 503 && /not streaming/.test(text));
  }
}

export class WebRTCPlayer {
  // onStatus(state, detail) as Player's; onFail(why, retry) when the
  // session cannot go on.
  constructor(video, { onStatus = () => {}, onFail = () => {} } = {}) {
    this.video = video;
    this.onStatus = onStatus;
    this.onFail = onFail;
    this.pc = null;
    this.location = '';
    this.state = '';
    this.frames = 0;
    this.lastWall = NaN; // wall clock (ms) of the frame on screen
    this.lastShown = NaN; // when it was shown (ms since the epoch)
    this.rvfc = 0;
    this.watch = 0;
    this.destroyed = false;
    video.muted = true;
    video.playsInline = true;
  }

  status(state, detail = '') {
    this.state = state;
    this.onStatus(state, detail);
  }

  async load(key) {
    this.teardown();
    this.status('loading');
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    this.pc = pc;
    try {
      const tr = pc.addTransceiver('video', { direction: 'recvonly' });
      const caps = RTCRtpReceiver.getCapabilities && RTCRtpReceiver.getCapabilities('video');
      const h264 = caps ? caps.codecs.filter((c) => /^video\/(h264|rtx)$/i.test(c.mimeType)) : [];
      if (caps && !h264.some((c) => /h264/i.test(c.mimeType))) throw new Error('this browser decodes no H.264 over WebRTC');
      if (tr.setCodecPreferences && h264.length) tr.setCodecPreferences(h264);
      // play each frame as soon as it is whole: no jitter buffer beyond need
      if ('jitterBufferTarget' in tr.receiver) tr.receiver.jitterBufferTarget = 0;
      else tr.receiver.playoutDelayHint = 0;
      pc.ontrack = (ev) => {
        this.video.srcObject = ev.streams[0] || new MediaStream([ev.track]);
        this.video.play().catch(() => {});
      };
      pc.onconnectionstatechange = () => {
        const s = pc.connectionState;
        if (this.pc === pc && (s === 'failed' || s === 'disconnected' || s === 'closed')) {
          this.fail(`connection ${s}`, this.frames > 0);
        }
      };
      await pc.setLocalDescription(await pc.createOffer());
      // no trickle: the node needs only this offer's credentials, and its
      // own candidates come in the answer
      const headers = { 'Content-Type': 'application/sdp' };
      if (session.csrf) headers['X-CSRF-Token'] = session.csrf;
      const res = await fetch(`/api/v1/webrtc/${key}`, {
        method: 'POST', headers, body: pc.localDescription.sdp, credentials: 'same-origin', cache: 'no-store',
        signal: AbortSignal.timeout(25000),
      });
      const text = await res.text();
      if (this.pc !== pc) return;
      if (res.status !== 201) throw new Refused(res.status, text);
      this.location = res.headers.get('Location') || '';
      await pc.setRemoteDescription({ type: 'answer', sdp: text });
    } catch (e) {
      if (this.pc !== pc) return;
      this.fail(e.name === 'TimeoutError' ? 'the node did not answer within 25 s' : e.message, !!e.retry);
      return;
    }
    this.frames = 0;
    const started = performance.now();
    let seen = 0;
    let at = -1;
    let progress = started;
    this.watchFrames();
    this.watch = setInterval(() => {
      const now = performance.now();
      // frame callbacks stop in a hidden tab; the clock of the stream does not
      const t = this.video.currentTime;
      if (this.frames !== seen || (seen > 0 && t !== at)) {
        seen = this.frames;
        at = t;
        progress = now;
        if (this.state !== 'playing') this.status('playing');
        return;
      }
      if (document.hidden && seen > 0) return; // judged again when shown
      if (seen === 0 && now - started > CONNECT_MS) {
        this.fail(`no video within ${CONNECT_MS / 1000} s (${pc.connectionState}): no UDP path to the node?`, false);
      } else if (seen > 0 && now - progress > STALL_MS) {
        this.fail('stalled: no new video for 8 s', true);
      } else if (seen > 0 && now - progress > 3000 && this.state === 'playing') {
        this.status('stalled', 'waiting for video');
      }
    }, 500);
  }

  // watchFrames follows the frames on screen and their wall clocks.
  watchFrames() {
    const v = this.video;
    if (!v.requestVideoFrameCallback) {
      // without frame callbacks: the receiver's last frame
      this.sourcesTimer = setInterval(() => this.fromSources(), 200);
      return;
    }
    const onFrame = (now, meta) => {
      if (meta && typeof meta.rtpTimestamp === 'number') {
        const shown = performance.timeOrigin + (meta.expectedDisplayTime || now);
        this.lastWall = wallFromRtp(meta.rtpTimestamp, shown);
        this.lastShown = shown;
      } else {
        this.fromSources();
      }
      this.frames++;
      this.rvfc = v.requestVideoFrameCallback(onFrame);
    };
    this.rvfc = v.requestVideoFrameCallback(onFrame);
  }

  fromSources() {
    const r = this.pc && this.pc.getReceivers()[0];
    const s = r && r.getSynchronizationSources && r.getSynchronizationSources()[0];
    if (!s) return;
    if (!this.video.requestVideoFrameCallback && s.rtpTimestamp !== this.lastRtp) this.frames++;
    this.lastRtp = s.rtpTimestamp;
    this.lastWall = wallFromRtp(s.rtpTimestamp, s.timestamp);
    this.lastShown = s.timestamp;
  }

  // playingDate is the wall-clock time of the picture on screen, advanced
  // since it was shown, like a playing HLS stream's.
  get playingDate() {
    if (!Number.isFinite(this.lastWall)) return null;
    return new Date(this.lastWall + (Date.now() - this.lastShown));
  }

  // latency is the delay behind the camera's frame clock, in seconds.
  get latency() {
    return Number.isFinite(this.lastWall) ? (this.lastShown - this.lastWall) / 1000 : NaN;
  }

  fail(why, retry) {
    this.teardown();
    if (!this.destroyed) this.onFail(why, retry);
  }

  teardown() {
    clearInterval(this.watch);
    clearInterval(this.sourcesTimer);
    if (this.rvfc && this.video.cancelVideoFrameCallback) this.video.cancelVideoFrameCallback(this.rvfc);
    this.rvfc = 0;
    if (this.location) {
      // the node would find the peer gone anyway; this frees its slot now
      const headers = session.csrf ? { 'X-CSRF-Token': session.csrf } : {};
      fetch(this.location, { method: 'DELETE', headers, credentials: 'same-origin', keepalive: true }).catch(() => {});
      this.location = '';
    }
    if (this.pc) {
      const pc = this.pc;
      this.pc = null;
      pc.ontrack = null;
      pc.onconnectionstatechange = null;
      pc.close();
    }
    this.lastWall = NaN;
    if (this.video.srcObject) this.video.srcObject = null;
  }

  destroy() {
    this.destroyed = true;
    this.teardown();
  }
}

// LivePlayer plays a camera live over WebRTC when it can and LL-HLS
// otherwise, and says which (transport, why).
export class LivePlayer {
  constructor(video, { key, hlsUrl, prefer = 'webrtc', hlsWhy = '', onStatus = () => {} } = {}) {
    this.video = video;
    this.key = key;
    this.hlsUrl = hlsUrl;
    this.prefer = prefer;
    this.hlsWhy = hlsWhy;
    this.onStatus = onStatus;
    this.inner = null;
    this.transport = '';
    this.why = ''; // why this is not WebRTC
    this.backoff = 1000;
    this.retryTimer = 0;
    this.destroyed = false;
  }

  get state() {
    return this.inner ? this.inner.state : '';
  }

  get playingDate() {
    return this.inner ? this.inner.playingDate : null;
  }

  load() {
    if (this.prefer === 'hls') this.useHls(this.hlsWhy || 'HLS chosen in the live view');
    else if (!window.RTCPeerConnection) this.useHls('this browser has no WebRTC');
    else this.useWebRTC();
  }

  useWebRTC() {
    this.stopInner();
    this.transport = 'webrtc';
    this.why = '';
    const p = new WebRTCPlayer(this.video, {
      onStatus: (s, d) => {
        if (s === 'playing') this.backoff = 1000;
        this.onStatus(s, d);
      },
      onFail: (why, retry) => {
        if (this.destroyed || this.inner !== p) return;
        if (!retry) {
          this.useHls(`WebRTC: ${why}`);
          return;
        }
        const wait = this.backoff;
        this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
        this.onStatus('retrying', `${why}; retrying in ${Math.round(wait / 1000)} s`);
        this.retryTimer = setTimeout(() => {
          if (!this.destroyed && this.inner === p) this.useWebRTC();
        }, wait);
      },
    });
    this.inner = p;
    p.load(this.key);
  }

  useHls(why) {
    this.stopInner();
    this.transport = 'hls';
    this.why = why;
    const p = new Player(this.video, { live: true, onStatus: (s, d) => this.onStatus(s, d) });
    this.inner = p;
    p.load(this.hlsUrl);
  }

  stopInner() {
    clearTimeout(this.retryTimer);
    if (this.inner) this.inner.destroy();
    this.inner = null;
  }

  destroy() {
    this.destroyed = true;
    this.stopInner();
  }
}
