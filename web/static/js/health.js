// Health in words: what is wrong with a node or a camera below, and since
// when, as the tree reports it (GET /api/v1/tree, each node's "health").

import { fmtAgo, fmtClock } from './dom.js';

function since(t) {
  if (!t) return '';
  const d = new Date(t);
  if (Number.isNaN(d.getTime()) || d.getFullYear() < 2000) return '';
  const today = new Date().toDateString() === d.toDateString();
  return ` since ${today ? fmtClock(d) : d.toISOString().slice(0, 16).replace('T', ' ')} (${fmtAgo(d).replace(' ago', '')})`;
}

// nodeProblem says why a node is not reachable, or '' when it is.
export function nodeProblem(n) {
  if (!n || n.self || n.status !== 'offline') return '';
  const hl = n.health || {};
  if (hl.linked === false) return `Site ${n.id} unreachable: its link is down${since(hl.link_since)}.`;
  return `Site ${n.id} unreachable: nothing heard from it${since(n.last_seen)}.`;
}

// cameraProblem says why a camera does not stream, or ''.
export function cameraProblem(c) {
  if (!c || c.state === 'streaming' || c.state === 'unknown') return '';
  const what = c.state === 'failed' ? 'Camera down' : c.state === 'stopped' ? 'Camera stopped' : 'Camera disabled';
  return `${what}${since(c.since)}${c.reason ? `: ${c.reason}` : ''}.`;
}

// linkWords describes a node's link as seen from here.
export function linkWords(n) {
  const hl = n.health;
  if (!hl) return 'this node';
  if (hl.linked === true) return `linked${since(hl.link_since)}`;
  if (hl.linked === false) return `link down${since(hl.link_since)}`;
  return hl.via ? `via ${hl.via}` : 'no route known';
}

// ageWords is how long ago t was, or 'never'.
export function ageWords(t) {
  if (!t || new Date(t).getFullYear() < 2000) return 'never';
  return fmtAgo(t);
}

// backlogWords describes what waits to be replicated.
export function backlogWords(b) {
  if (!b || !b.segments) return 'up to date';
  const mb = b.bytes / 1e6;
  return `${b.segments} segment${b.segments === 1 ? '' : 's'} (${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MB), oldest ${ageWords(b.oldest).replace(' ago', '')} old`;
}

// failedWords describes the requests that failed in the last 10 minutes.
export function failedWords(hl) {
  if (!hl || !hl.failed) return 'none';
  return `${hl.failed} in 10 min, last ${ageWords(hl.last_failure_at)}: ${hl.last_failure}`;
}
