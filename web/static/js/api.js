// The node's HTTP API. One session per tab: the cookie is HttpOnly, the
// CSRF token lives only in memory and goes with every state change.

const ROLES = ['viewer', 'operator', 'engineer', 'admin'];

export const session = {
  user: '',
  role: '',
  csrf: '',
  nodeId: '',
  version: '',
  loginRequired: true,
};

let onUnauthorized = () => {};

export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export function roleAtLeast(min) {
  if (!session.loginRequired) return true; // no users: the allow-list is the only guard
  return ROLES.indexOf(session.role) >= ROLES.indexOf(min);
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    q.set(k, v instanceof Date ? v.toISOString() : String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

// REQUEST_TIMEOUT_MS bounds every request: a node (or a site behind a
// centre) that does not answer is said so, never "Loading…" for good.
export const REQUEST_TIMEOUT_MS = 20000;

// api fetches a JSON route. A 401 anywhere means the session is gone:
// the login screen comes back. A request not answered within timeout (ms)
// fails with status 0 and says so.
export async function api(path, { method = 'GET', body, params, signal, quiet401 = false, timeout = REQUEST_TIMEOUT_MS } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', signal, cache: 'no-store' };
  if (method !== 'GET' && method !== 'HEAD') {
    if (session.csrf) headers['X-CSRF-Token'] = session.csrf;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
  }
  let timer = 0;
  let timedOut = false;
  if (timeout > 0) {
    const ctrl = new AbortController();
    if (signal) {
      if (signal.aborted) ctrl.abort();
      else signal.addEventListener('abort', () => ctrl.abort(), { once: true });
    }
    timer = setTimeout(() => { timedOut = true; ctrl.abort(); }, timeout);
    init.signal = ctrl.signal;
  }
  let res;
  let text;
  try {
    res = await fetch(path + (params ? query(params) : ''), init);
    text = await res.text();
  } catch (e) {
    if (timedOut) throw new ApiError(0, `the node did not answer within ${Math.round(timeout / 1000)} s`, null);
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, `the node could not be reached (${e.message})`, null);
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const msg = (data && data.error) || text.trim() || res.statusText || `HTTP ${res.status}`;
    if (res.status === 401 && !quiet401) onUnauthorized(msg);
    throw new ApiError(res.status, msg, data);
  }
  return data;
}

// plateKey is how this node names the camera of a plate read.
export function cameraKeyOf(node, camera) {
  return !node || node === session.nodeId ? camera : `${node}/${camera}`;
}

export function playUrl(camera, from, to) {
  return `/api/v1/archive/play.m3u8${query({ camera, from, to })}`;
}

export function transcodeUrl(camera, from, to) {
  return `/api/v1/archive/transcode.mp4${query({ camera, from, to })}`;
}

export function exportUrl(camera, from, to) {
  return `/api/v1/archive/export.mp4${query({ camera, from, to })}`;
}

// plateImage: the read id is "node/seq"; both parts are path segments.
export function plateImage(id, which) {
  const [node, seq] = splitReadId(id);
  return `/api/v1/plates/${encodeURIComponent(node)}/${encodeURIComponent(seq)}/${which}.jpg`;
}

export function splitReadId(id) {
  const i = id.lastIndexOf('/');
  return [id.slice(0, i), id.slice(i + 1)];
}
