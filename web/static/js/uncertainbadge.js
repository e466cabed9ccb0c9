// The number of uncertain plate reads beside the view's link, polled so
// that work waiting shows from every view.

import { api } from './api.js';

const POLL_MS = 15000;
const TIMEOUT_MS = 10000;

export class UncertainBadge {
  constructor(el) {
    this.el = el;
    this.timer = 0;
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
  }

  async poll() {
    clearTimeout(this.timer);
    if (!this.running) return;
    try {
      const q = await api('/api/v1/plates/uncertain', { params: { count: 1 }, timeout: TIMEOUT_MS });
      this.set(q.total);
    } catch (e) {
      if (e.status === 404) {
        this.el.hidden = true; // this node keeps no plate index
      } else if (e.status !== 401) {
        this.el.textContent = '?';
        this.el.title = `Uncertain reads unavailable: ${e.message}`;
        this.el.hidden = false;
      }
    }
    if (this.running) this.timer = setTimeout(() => this.poll(), POLL_MS);
  }

  // set shows a count the view learnt itself, without waiting for a poll.
  set(n) {
    this.el.textContent = String(n);
    this.el.hidden = false;
    this.el.classList.toggle('zero', n === 0);
    this.el.title = `${n} plate read${n === 1 ? '' : 's'} wait${n === 1 ? 's' : ''} for review`;
  }
}
