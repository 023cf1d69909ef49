// The node's API as the dashboard uses it. The token lives in this module and in the tab's sessionStorage only: never
// in a URL, localStorage or a cookie, so closing the tab forgets it and no request carries it implicitly.

const KEY = 'qa-dashboard-token';
let token = null;
try { token = sessionStorage.getItem(KEY); } catch { token = null; }

const listeners = new Set();

export function hasToken() { return !!token; }

export function setToken(t) {
  token = t || null;
  if (token) sessionStorage.setItem(KEY, token); else sessionStorage.removeItem(KEY);
}

/** Called with a message when the node refuses the token (401) or the client is rate-limited (429). */
export function onSignedOut(f) { listeners.add(f); }

function signedOut(message) {
  setToken(null);
  for (const f of listeners) f(message);
}

export class ApiError extends Error {
  constructor(status, message, field) { super(message); this.status = status; this.field = field; }
}

async function errorOf(r) {
  let msg = `the node answered ${r.status}`;
  let field;
  try {
    const j = await r.json();
    if (j && j.error) { msg = j.error; field = j.field; }
  } catch { /* not JSON: keep the status line */ }
  return new ApiError(r.status, msg, field);
}

// 401 and 429 end the session here, once, for every page: each page only handles the answers meant for it.
async function checkAuth(r) {
  if (r.status === 401) {
    signedOut('The node did not accept your token (it is revoked, mistyped, or this session expired). Sign in again.');
    throw new ApiError(401, 'signed out');
  }
  if (r.status === 429) {
    const wait = r.headers.get('Retry-After');
    signedOut(`Too many bad tokens were sent from this address; wait ${wait ? wait + ' s' : 'a while'} and sign in again.`);
    throw new ApiError(429, 'rate limited');
  }
}

/** fetch under /api/v1 with the bearer token; throws ApiError for a status that is not 2xx. */
export async function call(path, { method = 'GET', json, signal, raw = false } = {}) {
  if (!token) { signedOut('Sign in with your token to see this page.'); throw new ApiError(401, 'no token'); }
  const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
  let body;
  if (json !== undefined) { headers['Content-Type'] = 'application/json'; body = JSON.stringify(json); }
  const r = await fetch(`/api/v1${path}`, { method, headers, body, signal, cache: 'no-store', credentials: 'omit' });
  await checkAuth(r);
  if (!r.ok) throw await errorOf(r);
  if (raw) return r;
  return r.status === 204 ? null : r.json();
}

/** Checks a token before keeping it: the user's name and role, or an ApiError (401, 429, ...). */
export async function whoIs(candidate) {
  const r = await fetch('/api/v1/me', { headers: { Authorization: `Bearer ${candidate}` }, cache: 'no-store', credentials: 'omit' });
  if (!r.ok) throw await errorOf(r);
  return r.json();
}

/**
 * Reads a Server-Sent Events stream with fetch (EventSource cannot send an Authorization header) and calls
 * onEvent(name, data) per event. Resolves when the server ends the stream, rejects when it is lost.
 */
export async function readEvents(path, onEvent, signal) {
  if (!token) { signedOut('Sign in with your token to see this page.'); throw new ApiError(401, 'no token'); }
  const r = await fetch(`/api/v1${path}`, {
    headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' }, signal, cache: 'no-store', credentials: 'omit',
  });
  await checkAuth(r);
  if (!r.ok) throw await errorOf(r);
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '', name = 'message', data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    // Lines end in \n, \r\n or \r (the SSE format); a \r at the very end may be half of a \r\n still in flight.
    for (;;) {
      const m = /\r\n|\n|\r(?!$)/.exec(buf);
      if (!m) break;
      const line = buf.slice(0, m.index);
      buf = buf.slice(m.index + m[0].length);
      if (line === '') {
        if (data.length) onEvent(name, data.join('\n'));
        name = 'message'; data = [];
      } else if (!line.startsWith(':')) {
        const c = line.indexOf(':');
        const field = c < 0 ? line : line.slice(0, c);
        let v = c < 0 ? '' : line.slice(c + 1);
        if (v.startsWith(' ')) v = v.slice(1);
        if (field === 'event') name = v; else if (field === 'data') data.push(v);
      }
    }
  }
}

/** Downloads an artefact with the bearer header and hands it to the browser as a file. */
export async function download(path, fileName) {
  const r = await call(path, { raw: true });
  const blob = await r.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
