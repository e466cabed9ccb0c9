// The open alarms, polled for the top-bar counter and the alarm sound.
// A grave alarm the console has not seen before (raised, or escalated to
// grave) sounds at once; while grave alarms wait for an acknowledgement
// the sound repeats every minute until muted.

import { api } from './api.js';

const POLL_MS = 4000;
const REMIND_MS = 60000;

export const SEVERITY_RANK = { grave: 0, medium: 1, minor: 2 };

// sortAlarms: severity first, then newest raise first.
export function sortAlarms(list) {
  return list.sort((a, b) => ((SEVERITY_RANK[a.severity] ?? 3) - (SEVERITY_RANK[b.severity] ?? 3)) ||
    (new Date(b.raised) - new Date(a.raised)) || String(a.id).localeCompare(String(b.id)));
}

export class Sounder {
  constructor() {
    this.ctx = null;
    this.muted = localStorage.getItem('kuzet.muted') === '1';
    this.played = 0;
  }

  // unlock creates the audio context inside a user gesture, as browsers
  // require before anything may sound.
  unlock() {
    if (this.ctx) {
      if (this.ctx.state === 'suspended') this.ctx.resume().catch(() => {});
      return;
    }
    const AC = window.AudioContext || window.webkitAudioContext;
    if (AC) this.ctx = new AC();
  }

  setMuted(m) {
    this.muted = m;
    localStorage.setItem('kuzet.muted', m ? '1' : '0');
  }

  // grave plays a two-tone alert of about 1.2 s.
  grave() {
    this.played++;
    document.body.dataset.alarmSounds = String(this.played);
    if (this.muted || !this.ctx) return;
    const ctx = this.ctx;
    const t0 = ctx.currentTime + 0.02;
    for (let i = 0; i < 4; i++) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'square';
      osc.frequency.value = i % 2 ? 660 : 880;
      const t = t0 + i * 0.3;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.15, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.26);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t);
      osc.stop(t + 0.28);
    }
  }
}

export class AlarmFeed {
  constructor(sounder, onChange) {
    this.sounder = sounder;
    this.onChange = onChange;
    this.open = [];
    this.available = null; // null: not asked yet
    this.error = '';
    this.seen = new Set();
    this.first = true;
    this.timer = 0;
    this.lastRemind = 0;
    this.running = false;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.poll();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    this.open = [];
    this.seen.clear();
    this.first = true;
    this.available = null;
  }

  async poll() {
    clearTimeout(this.timer);
    if (!this.running) return;
    try {
      const list = await api('/api/v1/alarms', { params: { state: 'open', limit: 500 } });
      this.available = true;
      this.error = '';
      this.open = sortAlarms(Array.isArray(list) ? list : []);
      this.notice();
    } catch (e) {
      if (e.status === 401) return; // the login screen takes over
      this.available = e.status === 404 || e.status === 405 ? false : this.available;
      this.error = e.status === 404 ? 'alarms unavailable on this node' : `alarms: ${e.message}`;
    }
    this.onChange(this);
    if (this.running) this.timer = setTimeout(() => this.poll(), POLL_MS);
  }

  notice() {
    let fresh = false;
    const said = [];
    for (const a of this.open) {
      const k = `${a.id}|${a.severity}`;
      if (!this.seen.has(k)) {
        this.seen.add(k);
        if (!this.first && a.severity === 'grave' && a.state === 'raised') fresh = true;
        if (!this.first && a.state === 'raised') said.push(`${a.severity} alarm: ${a.message}`);
      }
    }
    // screen readers hear each new alarm (an assertive live region)
    if (said.length && this.announce) this.announce(said.slice(0, 3).join('. ') + (said.length > 3 ? `. And ${said.length - 3} more.` : ''));
    this.first = false;
    const now = Date.now();
    const waiting = this.open.some((a) => a.severity === 'grave' && a.state === 'raised');
    if (fresh || (waiting && now - this.lastRemind > REMIND_MS && this.lastRemind)) {
      this.sounder.grave();
      this.lastRemind = now;
    } else if (waiting && !this.lastRemind) {
      this.lastRemind = now; // already waiting at login: remind later, not at once
    } else if (!waiting) {
      this.lastRemind = 0;
    }
  }

  // unacknowledged counts raised (not yet acknowledged) open alarms.
  unacknowledged() {
    return this.open.filter((a) => a.state === 'raised');
  }
}
