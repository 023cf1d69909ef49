// The helpers every page uses: DOM building (text always goes in as text, never as HTML), focus that survives a
// redraw, polling of lists, and following an event stream with reconnection.
import { readEvents, ApiError } from './api.js';

export const POLL_MS = 3000;
const main = document.getElementById('main');

// ---- small DOM helpers: text always goes in as text, never as HTML ----
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') { for (const [dk, dv] of Object.entries(v)) if (dv !== undefined && dv !== null) e.dataset[dk] = dv; }
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) e.append(c instanceof Node ? c : String(c));
  return e;
}
// Live pages redraw parts of themselves; a keyboard user's focus must survive that. Focusable elements that are
// redrawn carry data-key, and the element with the same key gets the focus back.
export function keepFocus(container, redraw) {
  const a = document.activeElement;
  const key = a && container.contains(a) ? a.dataset.key : undefined;
  redraw();
  if (key !== undefined) {
    const again = [...container.querySelectorAll('[data-key]')].find(e => e.dataset.key === key);
    if (again) again.focus();
  }
}
export const fmt = (x, d = 3) => (x === undefined || x === null || !Number.isFinite(x)) ? '–' : x.toFixed(d);
export function show(...nodes) { main.replaceChildren(...nodes); }
export function banner(kind, text) { return el('p', { class: `banner ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text); }
export function lastOf(history, key) {
  for (let i = history.length - 1; i >= 0; i--) if (Number.isFinite(history[i][key])) return history[i][key];
  return undefined;
}

// A poller that runs f every POLL_MS until stopped, reporting a lost node without piling up requests.
export function poller(f, onError) {
  let stopped = false, timer = null;
  const ctl = new AbortController();
  const tick = async () => {
    try { await f(ctl.signal); } catch (e) { if (!stopped && !(e instanceof ApiError && (e.status === 401 || e.status === 429))) onError(e); }
    if (!stopped) timer = setTimeout(tick, POLL_MS);
  };
  tick();
  return () => { stopped = true; clearTimeout(timer); ctl.abort(); };
}
export const lostMessage = e => e instanceof ApiError ? e.message : 'The node cannot be reached; retrying every few seconds.';


export function stateClass(s) {
  return s === 'running' ? 'warn' : s === 'completed' ? 'ok' : s === 'failed' ? 'bad' : 'neutral';
}

export const sleep = ms => new Promise(r => setTimeout(r, ms));

/**
 * Follows a page's event stream (the one live mechanism of the pages that show one thing: an experiment, a campaign)
 * until the page is left or over() says nothing more will arrive. A lost or ended stream is opened again: a stream
 * that brought news starts the pause afresh, one that failed or ended empty doubles it (up to 30 s), so that retries
 * slow down while nothing gets through.
 */
export function follow(path, { onEvent, signal, live, stopped, liveText, over, notFound }) {
  (async () => {
    let backoff = 1000;
    while (!stopped()) {
      let heard = false;
      try {
        live.textContent = liveText;
        await readEvents(path, (name, data) => { heard = true; onEvent(name, data); }, signal);
        if (stopped()) return;
        const end = over();
        if (end) { live.textContent = end; return; }
        // The stream ended with the thing still running (the node restarted, or another node drives it).
        const wait = heard ? POLL_MS : backoff;
        backoff = heard ? 2000 : Math.min(backoff * 2, 30000);
        live.textContent = `The node closed the live stream; reconnecting in ${Math.round(wait / 1000)} s.`;
        await sleep(wait);
      } catch (e) {
        if (stopped()) return;
        if (e instanceof ApiError) {
          if (e.status === 401 || e.status === 429) return;
          if (e.status === 404) { notFound(); return; }
        }
        const wait = heard ? 1000 : backoff;
        backoff = heard ? 2000 : Math.min(backoff * 2, 30000);
        live.textContent = `Lost the live connection; reconnecting in ${Math.round(wait / 1000)} s.`;
        await sleep(wait);
      }
    }
  })();
}

