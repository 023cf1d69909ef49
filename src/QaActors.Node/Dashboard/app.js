// The dashboard's pages (docs/operations.md, "Dashboard"): sign-in, overview, experiments and one experiment,
// campaigns and one campaign (campaigns.js).
// Routes live in the fragment (#/experiments/ID) so that nothing but the page itself is ever sent to the server.
import { call, download, hasToken, onSignedOut, setToken, whoIs, ApiError } from './api.js';
import { banner, el, fmt, follow, keepFocus, lastOf, lostMessage, poller, POLL_MS, show, stateClass } from './ui.js';
import { drawChart } from './chart.js';
import { campaignPage, campaignsPage } from './campaigns.js';

const main = document.getElementById('main');
let me = null;            // { user, admin, weight } of the signed-in token
let cleanup = () => {};   // stops the current page's polling and streams
let signInMessage = null; // why the sign-in page is shown
let signInKind = 'info';  // 'info' for a prompt, 'error' for a refusal

// ---- sign-in ----
function renderSignIn() {
  document.getElementById('nav').hidden = true;
  document.getElementById('who').hidden = true;
  const input = el('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true,
    'aria-describedby': 'token-help' });
  const msg = signInMessage ? banner(signInKind, signInMessage) : null;
  const form = el('form', { class: 'card signin', id: 'sign-in', 'aria-labelledby': 'sign-in-title' },
    el('h1', { id: 'sign-in-title' }, 'Sign in'),
    msg,
    el('label', { for: 'token' }, 'Access token'),
    input,
    el('p', { id: 'token-help', class: 'help' },
      'The token ', el('code', {}, 'qa user add NAME'), ' printed for you (admins: the node\'s ', el('code', {}, 'admin-token'),
      ' file). It is kept in this tab only, and forgotten when the tab closes.'),
    el('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const t = input.value.trim();
    if (!t) return;
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      me = await whoIs(t);
      setToken(t);
      signInMessage = null;
      route();
    } catch (e) {
      signInKind = 'error';
      signInMessage = !(e instanceof ApiError) ? 'The node cannot be reached; check that it is running and try again.'
        : e.status === 401 ? 'That token was not accepted: it is revoked or mistyped.'
        : e.status === 429 ? 'Too many bad tokens were sent from this address; wait a minute and try again.'
        : e.message;
      renderSignIn();
    }
  });
  show(form);
  input.focus();
}

onSignedOut(message => {
  me = null;
  signInKind = 'error';
  cleanup();
  cleanup = () => {};
  signInMessage = message;
  renderSignIn();
});

document.getElementById('sign-out').addEventListener('click', () => {
  setToken(null);
  me = null;
  cleanup();
  signInKind = 'info';
  signInMessage = 'You signed out. The token is no longer kept in this tab.';
  renderSignIn();
});

// ---- routing ----
async function route() {
  cleanup();
  cleanup = () => {};
  if (!hasToken()) {
    if (!signInMessage) { signInKind = 'info'; signInMessage = 'Sign in with your QaActors token to see the dashboard.'; }
    renderSignIn();
    return;
  }
  if (!me) {
    try { me = await call('/me'); } catch (e) {
      if (!(e instanceof ApiError && (e.status === 401 || e.status === 429))) show(banner('error', lostMessage(e)));
      return;
    }
  }
  document.getElementById('nav').hidden = false;
  document.getElementById('who').hidden = false;
  document.getElementById('who-name').textContent = `${me.user}${me.admin ? ' (admin)' : ''}`;
  const hash = location.hash || '#/overview';
  const m = /^#\/(experiments|campaigns)\/([A-Za-z0-9_-]{1,64})$/.exec(hash);
  const page = m ? m[1].slice(0, -1) : hash === '#/experiments' ? 'experiments' : hash === '#/campaigns' ? 'campaigns' : 'overview';
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.page === page || a.dataset.page === `${page}s`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (page === 'experiment') cleanup = experimentPage(m[2]);
  else if (page === 'experiments') cleanup = experimentsPage();
  else if (page === 'campaign') cleanup = campaignPage(m[2], me);
  else if (page === 'campaigns') cleanup = campaignsPage(me);
  else cleanup = overviewPage();
  main.focus({ preventScroll: true });
}
window.addEventListener('hashchange', route);

// ---- overview: cluster, gateways, quotas ----
function overviewPage() {
  document.title = 'Overview · QaActors';
  const members = el('tbody'), gateways = el('div', { class: 'gateways' }), quotas = el('tbody');
  const err = el('div', { 'aria-live': 'polite' });
  const updated = el('p', { class: 'help', id: 'overview-updated' }, 'Loading…');
  const lastSubmitted = new Map(); // solver -> [time ms, submitted], for the measured submission rate
  let clusterInfo = el('p', { class: 'help' });
  const quotaForm = me.admin ? adminQuotaForm() : null;
  show(
    el('h1', {}, 'Overview'), err,
    el('section', { 'aria-labelledby': 'h-members' },
      el('h2', { id: 'h-members' }, 'Cluster members'), clusterInfo,
      el('div', { class: 'table-wrap' }, el('table', { id: 'members' },
        el('thead', {}, el('tr', {}, ['Address', 'Status', 'Roles', 'Reachable'].map(h => el('th', { scope: 'col' }, h)))), members))),
    el('section', { 'aria-labelledby': 'h-gateways' },
      el('h2', { id: 'h-gateways' }, 'QPU gateways'), gateways),
    el('section', { 'aria-labelledby': 'h-quotas' },
      el('h2', { id: 'h-quotas' }, 'QPU time quotas'),
      el('div', { class: 'table-wrap' }, el('table', { id: 'quotas' },
        el('thead', {}, el('tr', {}, ['User', 'Quota (s)', 'Used (s)', 'Reserved (s)', 'Left (s)', ''].map(h => el('th', { scope: 'col' }, h)))), quotas)),
      quotaForm),
    updated);

  return poller(async signal => {
    const [cluster, gws, qs] = await Promise.all([call('/cluster', { signal }), call('/gateways', { signal }), call('/quotas', { signal })]);
    err.replaceChildren();
    clusterInfo.textContent = `This node: ${cluster.self}. Leader: ${cluster.leader ?? 'none'}. Singletons (gateways, quota ledger, registries) on: ${cluster.singletons ?? 'no gateway node is up'}.`;
    members.replaceChildren(...cluster.members.map(mb => el('tr', { dataset: { address: mb.address } },
      el('td', {}, mb.address), el('td', {}, mb.status), el('td', {}, mb.roles.join(', ')),
      el('td', { class: mb.reachable ? 'ok' : 'bad' }, mb.reachable ? 'yes' : 'no'))));
    const now = Date.now();
    gateways.replaceChildren(...(gws.length ? gws.map(g => gatewayCard(g, now, lastSubmitted)) : [el('p', { class: 'help' }, 'This node has no QPU configured (DWAVE_API_TOKEN or dwave.conf of the node), so there is no gateway.')]));
    quotas.replaceChildren(...qs.map(q => {
      const used = q.limit_seconds > 0 ? Math.min(1, (q.charged_seconds + q.reserved_seconds) / q.limit_seconds) : 0;
      return el('tr', { dataset: { user: q.user } },
        el('th', { scope: 'row' }, q.user),
        el('td', { dataset: { field: 'limit' } }, fmt(q.limit_seconds)),
        el('td', { dataset: { field: 'charged' } }, fmt(q.charged_seconds)),
        el('td', { dataset: { field: 'reserved' } }, fmt(q.reserved_seconds)),
        el('td', { dataset: { field: 'remaining' } }, fmt(q.remaining_seconds)),
        el('td', {}, el('meter', { min: 0, max: 1, value: used, 'aria-label': `${q.user}: ${(used * 100).toFixed(0)} % of the quota used or reserved` })));
    }));
    if (quotaForm) quotaForm.refreshUsers(qs.map(q => q.user));
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}; refreshed every ${POLL_MS / 1000} s.`;
  }, e => { err.replaceChildren(banner('error', lostMessage(e))); });
}

function gatewayCard(g, now, lastSubmitted) {
  if (g.error) return el('div', { class: 'card gateway', dataset: { solver: g.solver } }, el('h3', {}, g.solver), banner('error', g.error));
  const prev = lastSubmitted.get(g.solver);
  lastSubmitted.set(g.solver, [now, g.submitted]);
  const rate = prev && now > prev[0] ? (g.submitted - prev[1]) / ((now - prev[0]) / 1000) : null;
  const breakerClass = g.breaker === 'Closed' ? 'ok' : g.breaker === 'Open' ? 'bad' : 'warn';
  const stat = (name, value, field) => el('div', { class: 'stat' }, el('dt', {}, name), el('dd', { dataset: { field } }, value));
  return el('div', { class: 'card gateway', dataset: { solver: g.solver } },
    el('h3', {}, g.solver, ' ', el('span', { class: `badge ${breakerClass}`, dataset: { field: 'breaker' } }, `breaker ${g.breaker.toLowerCase()}`)),
    el('dl', { class: 'stats' },
      stat('In flight', `${g.in_flight} / ${g.max_in_flight}`, 'in-flight'),
      stat('Queued problems', String(g.queued), 'queued'),
      stat('Submitted', String(g.submitted), 'submitted'),
      stat('Rate (problems/s)', rate === null ? 'measuring…' : `${rate.toFixed(2)} (limit ${g.rate_limit_per_second})`, 'rate'),
      stat('Served by the QPU', String(g.served_by_qpu), 'served'),
      stat('Fell back', String(g.fell_back), 'fell-back')),
    el('div', { class: 'table-wrap' }, el('table', { class: 'gateway-users' },
      el('caption', {}, me.admin ? 'Per user' : 'Your share'),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'User'), el('th', { scope: 'col' }, 'Queued problems'), el('th', { scope: 'col' }, 'QPU time used (s)'))),
      el('tbody', {}, g.users.length ? g.users.map(u => el('tr', { dataset: { user: u.user } },
        el('th', { scope: 'row' }, u.user), el('td', { dataset: { field: 'queued' } }, String(u.queued)),
        el('td', { dataset: { field: 'qpu-time' } }, fmt(u.qpu_access_time, 4))))
        : el('tr', {}, el('td', { colspan: 3, class: 'help' }, 'Nobody has used this QPU since the gateway started.'))))));
}

function adminQuotaForm() {
  const users = el('datalist', { id: 'quota-users' });
  const user = el('input', { id: 'quota-user', name: 'user', list: 'quota-users', required: true, autocomplete: 'off' });
  const seconds = el('input', { id: 'quota-seconds', name: 'seconds', type: 'number', min: '0', step: 'any', required: true });
  const msg = el('p', { class: 'help', role: 'status', id: 'quota-message' });
  // novalidate: the page's own message says what is wrong, in words a reader and a screen reader get alike.
  const form = el('form', { class: 'card inline-form', id: 'set-quota', 'aria-labelledby': 'h-set-quota', novalidate: true },
    el('h3', { id: 'h-set-quota' }, 'Set a quota (admin)'),
    el('div', { class: 'field' }, el('label', { for: 'quota-user' }, 'User'), user, users),
    el('div', { class: 'field' }, el('label', { for: 'quota-seconds' }, 'QPU seconds'), seconds),
    el('button', { type: 'submit', class: 'primary' }, 'Set quota'), msg);
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const s = Number(seconds.value);
    if (!user.value.trim() || !Number.isFinite(s) || s < 0) { msg.textContent = 'Give a user name and a number of seconds (0 or more).'; return; }
    try {
      await call(`/quotas/${encodeURIComponent(user.value.trim())}`, { method: 'PUT', json: { seconds: s } });
      msg.textContent = `${user.value.trim()}'s quota is now ${s} s.`;
    } catch (e) {
      if (!(e instanceof ApiError)) msg.textContent = 'Not set: the node cannot be reached.';
      else if (e.status !== 401 && e.status !== 429) msg.textContent = `Not set: ${e.message}`;
    }
  });
  // The names offered: everyone with an account in the ledger, and every registered user (who may have none yet).
  const known = new Set();
  const offer = names => {
    const before = known.size;
    for (const n of names) known.add(n);
    if (known.size !== before) users.replaceChildren(...[...known].sort().map(n => el('option', { value: n })));
  };
  call('/users').then(list => offer(list.filter(u => !u.revoked).map(u => u.user)),
    e => { if (!(e instanceof ApiError && (e.status === 401 || e.status === 429))) msg.textContent = `The user list could not be read: ${lostMessage(e)}`; });
  form.refreshUsers = offer;
  return form;
}

// ---- experiments table ----
const COLUMNS = [
  { key: 'id', name: 'Experiment' }, { key: 'user', name: 'User' }, { key: 'dataset', name: 'Dataset' },
  { key: 'classes', name: 'Classes' }, { key: 'method', name: 'Method' }, { key: 'step', name: 'Step', num: true },
  { key: 'accuracy', name: 'Test accuracy', num: true }, { key: 'state', name: 'State' },
];
const tableState = { sort: 'id', dir: 1, filter: '', stateFilter: '' };

function rowOf(x) {
  const t = x.task || {};
  return {
    id: x.experiment_id, user: x.user, dataset: t.Dataset ?? '', classes: t.ClassA !== undefined ? `${t.ClassA},${t.ClassB}` : '',
    method: x.method, step: x.step, total: x.total_steps, accuracy: lastOf(x.history || [], 'test_accuracy'), state: x.state,
  };
}

function experimentsPage() {
  document.title = 'Experiments · QaActors';
  let rows = [], loaded = false;
  const tbody = el('tbody'), err = el('div', { 'aria-live': 'polite' }), count = el('p', { class: 'help', id: 'experiments-count' });
  const headRow = el('tr');
  const filter = el('input', { id: 'filter', type: 'search', value: tableState.filter, autocomplete: 'off' });
  const stateSel = el('select', { id: 'state-filter' }, ['', 'running', 'completed', 'cancelled', 'failed', 'stopped'].map(s =>
    el('option', { value: s, selected: s === tableState.stateFilter }, s || 'any state')));
  const table = el('table', { id: 'experiments' }, el('thead', {}, headRow), tbody);
  const draw = () => keepFocus(table, () => {
    headRow.replaceChildren(...COLUMNS.map(c => el('th', { scope: 'col', 'aria-sort': tableState.sort === c.key ? (tableState.dir > 0 ? 'ascending' : 'descending') : 'none' },
      el('button', { type: 'button', class: 'sort', dataset: { sort: c.key, key: `sort-${c.key}` }, onclick: () => {
        tableState.dir = tableState.sort === c.key ? -tableState.dir : 1;
        tableState.sort = c.key;
        draw();
      } }, c.name, el('span', { class: 'arrow', 'aria-hidden': 'true' }, tableState.sort === c.key ? (tableState.dir > 0 ? ' ▲' : ' ▼') : '')))));
    const needle = tableState.filter.toLowerCase();
    const shown = rows.filter(r => (!tableState.stateFilter || r.state === tableState.stateFilter)
      && (!needle || [r.id, r.user, r.dataset, r.classes, r.method, r.state].some(v => String(v).toLowerCase().includes(needle))));
    const col = COLUMNS.find(c => c.key === tableState.sort);
    shown.sort((a, b) => {
      const x = a[col.key], y = b[col.key];
      const c = col.num ? ((x ?? -Infinity) - (y ?? -Infinity)) : String(x).localeCompare(String(y));
      return c * tableState.dir || a.id.localeCompare(b.id);
    });
    // data-label names each cell's column for the stacked layout of a narrow window (app.css).
    const td = (i, content, cls) => el('td', { class: cls, dataset: { label: COLUMNS[i].name } }, content);
    tbody.replaceChildren(...shown.map(r => el('tr', { dataset: { id: r.id } },
      td(0, el('a', { href: `#/experiments/${r.id}`, dataset: { key: `open-${r.id}` } }, r.id)), td(1, r.user), td(2, r.dataset),
      td(3, r.classes), td(4, r.method), td(5, `${r.step}/${r.total}`, 'num'),
      td(6, fmt(r.accuracy, 4), 'num'), td(7, el('span', { class: `badge ${stateClass(r.state)}` }, r.state)))));
    count.textContent = !loaded ? 'Loading…' : rows.length === 0 ? (me.admin ? 'No experiments on this node yet.' : 'You have no experiments yet.')
      : `${shown.length} of ${rows.length} experiments shown.`;
  });
  filter.addEventListener('input', () => { tableState.filter = filter.value; draw(); });
  stateSel.addEventListener('change', () => { tableState.stateFilter = stateSel.value; draw(); });
  show(el('h1', {}, 'Experiments'), err,
    el('div', { class: 'filters' },
      el('div', { class: 'field' }, el('label', { for: 'filter' }, 'Filter'), filter),
      el('div', { class: 'field' }, el('label', { for: 'state-filter' }, 'State'), stateSel)),
    el('div', { class: 'table-wrap' }, table), count);
  draw();
  return poller(async signal => {
    rows = (await call('/experiments', { signal })).map(rowOf);
    loaded = true;
    err.replaceChildren();
    draw();
  }, e => err.replaceChildren(banner('error', lostMessage(e))));
}


// ---- one experiment: settings, live curves, provenance, artefacts ----
const SETTINGS = ['Method', 'Hidden', 'Batch', 'LearningRate', 'Steps', 'Beta', 'Reads', 'Sweeps', 'Seed', 'TEff', 'AutoTemperature', 'Tiles', 'EvalEvery', 'Init'];
const TASK = ['Dataset', 'ClassA', 'ClassB', 'TrainSize', 'TestSize'];
const ARTIFACTS = ['model.safetensors', 'metrics.csv', 'curves.png', 'report.json']; // NodeApi.ArtifactNames

function experimentPage(id) {
  document.title = `${id} · QaActors`;
  const ctl = new AbortController();
  let view = null, history = [], stopped = false, refetchTimer = null;
  const title = el('h1', {}, 'Experiment ', el('span', { class: 'mono' }, id));
  const head = el('div', { class: 'exp-head' }), live = el('p', { class: 'help', id: 'live', 'aria-live': 'polite' });
  const accSvg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  accSvg.id = 'accuracy-chart';
  const lossSvg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  lossSvg.id = 'loss-chart';
  const settings = el('dl', { class: 'settings', id: 'settings' }), prov = el('div', { id: 'provenance' }), arts = el('ul', { class: 'artifacts', id: 'artifacts' });
  const err = el('div', { 'aria-live': 'polite' });
  show(title, err, head, live,
    el('div', { class: 'charts' },
      el('figure', { class: 'card chart' }, el('figcaption', {}, 'Test accuracy'), accSvg),
      el('figure', { class: 'card chart' }, el('figcaption', {}, 'Loss'), lossSvg)),
    el('div', { class: 'cols' },
      el('section', { class: 'card', 'aria-labelledby': 'h-settings' }, el('h2', { id: 'h-settings' }, 'Settings'), settings),
      el('section', { class: 'card', 'aria-labelledby': 'h-prov' }, el('h2', { id: 'h-prov' }, 'Provenance'), prov),
      el('section', { class: 'card', 'aria-labelledby': 'h-arts' }, el('h2', { id: 'h-arts' }, 'Artefacts'), arts)));

  const drawCurves = () => {
    const pts = key => history.filter(h => Number.isFinite(h[key])).map(h => [h.step, h[key]]);
    drawChart(accSvg, [{ key: 'test_accuracy', name: 'MLP', points: pts('test_accuracy') }, { key: 'ebm_test_accuracy', name: 'EBM', points: pts('ebm_test_accuracy') }],
      { title: 'Test accuracy per step', xLabel: 'step', yLabel: 'accuracy', yMin: 0, yMax: 1 });
    drawChart(lossSvg, [{ key: 'train_loss', name: 'train loss', points: pts('train_loss') }, { key: 'cross_entropy', name: 'test cross-entropy', points: pts('cross_entropy') }],
      { title: 'Loss per step', xLabel: 'step', yLabel: 'loss' });
  };

  // The head's elements are made once and updated, so that the Cancel button keeps the focus while steps arrive.
  const stateBadge = el('span', { class: 'badge', id: 'state' }), stepNo = el('strong', { id: 'step' }), who = el('span');
  const totalSpan = el('span'), progress = el('progress', { 'aria-label': 'steps done' }), reasonSpan = el('span', { class: 'help' });
  const cancel = el('button', { type: 'button', class: 'danger', id: 'cancel', hidden: true }, 'Cancel experiment');
  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    try { await call(`/experiments/${id}/cancel`, { method: 'POST' }); live.textContent = 'Cancel requested; the run stops after its current step.'; }
    catch (e) { if (e instanceof ApiError && e.status !== 401) { err.replaceChildren(banner('error', `Not cancelled: ${e.message}`)); cancel.disabled = false; } }
  });
  head.append(stateBadge, el('span', {}, who, ' · step ', stepNo, totalSpan), progress, reasonSpan, cancel);
  const drawHead = () => {
    stateBadge.textContent = view.state;
    stateBadge.className = `badge ${stateClass(view.state)}`;
    who.textContent = `${view.user} · ${view.method}`;
    stepNo.textContent = String(view.step);
    totalSpan.textContent = ` of ${view.total_steps}`;
    progress.max = view.total_steps || 1;
    progress.value = view.step;
    // A cancel is a pause to the trainer (it can be resumed); "paused" would only repeat the state.
    reasonSpan.textContent = view.reason && !(view.state === 'cancelled' && view.reason === 'paused') ? `(${view.reason})` : '';
    cancel.hidden = view.state !== 'running';
  };

  const drawDetails = () => {
    const c = view.config || {}, t = view.task || {};
    settings.replaceChildren(...[...SETTINGS.filter(k => c[k] !== undefined && c[k] !== null).map(k => [k, c[k]]),
      ...TASK.filter(k => t[k] !== undefined).map(k => [k, t[k]])].flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]));
    const p = view.provenance || {};
    const kv = (caption, obj, id2) => el('table', { id: id2 }, el('caption', {}, caption),
      el('tbody', {}, Object.keys(obj || {}).length ? Object.entries(obj).map(([k, v]) => el('tr', {}, el('th', { scope: 'row' }, k), el('td', { class: 'num' }, String(v))))
        : el('tr', {}, el('td', { colspan: 2 }, 'none'))));
    prov.replaceChildren(
      kv('Examples per sampler', p.samplers, 'samplers'),
      kv('Fallback reasons', p.fallback_reasons, 'fallbacks'),
      el('dl', { class: 'settings' },
        el('dt', {}, 'QPU access time'), el('dd', { id: 'qpu-time' }, `${fmt(p.qpu_access_time, 4)} s`),
        el('dt', {}, 'Mean chain-break fraction'), el('dd', {}, fmt(p.mean_chain_break_fraction, 4)),
        el('dt', {}, 'Clipped biases'), el('dd', {}, String(p.clipped_biases ?? 0)),
        el('dt', {}, 'Examples sampled'), el('dd', {}, String(p.examples ?? 0))));
    // A completed run's files can always be fetched: the node writes any that are missing when they are asked for.
    const names = view.state === 'completed' ? [...new Set([...view.artifacts, ...ARTIFACTS])] : view.artifacts;
    const artsKey = `${view.state}|${names.join(',')}`;
    if (arts.dataset.shown === artsKey) return;
    arts.dataset.shown = artsKey;
    arts.replaceChildren(...(names.length ? names.map(name => el('li', {},
      el('button', { type: 'button', class: 'link', dataset: { artifact: name }, onclick: async ev => {
        const b = ev.currentTarget;
        b.disabled = true;
        b.textContent = `Downloading ${name}…`;
        try { await download(`/experiments/${id}/artifacts/${encodeURIComponent(name)}`, name); }
        catch (e) { if (e instanceof ApiError && e.status !== 401) err.replaceChildren(banner('error', `Download failed: ${e.message}`)); }
        finally { b.disabled = false; b.textContent = `Download ${name}`; b.focus(); }
      } }, `Download ${name}`)))
      : [el('li', { class: 'help' }, view.state === 'running' ? 'Written when the run ends.' : 'None: artefacts are written for completed runs.')]));
  };

  // Steps can arrive faster than the screen refreshes; draw once per frame at most.
  let frame = 0;
  const redrawSoon = () => {
    if (frame) return;
    frame = requestAnimationFrame(() => { frame = 0; if (!stopped) { drawHead(); drawCurves(); drawDetails(); } });
  };

  const onResize = () => { if (view) drawCurves(); };
  window.addEventListener('resize', onResize);

  const apply = v => { view = v; history = v.history.slice(); drawHead(); drawDetails(); drawCurves(); };

  // Provenance is not in the step events; a fresh view a moment after a step keeps it current without a request per step.
  const refetchSoon = () => {
    if (refetchTimer) return;
    refetchTimer = setTimeout(async () => {
      refetchTimer = null;
      try {
        const v = await call(`/experiments/${id}`, { signal: ctl.signal });
        if (!stopped) { view = v; drawHead(); drawDetails(); }
      } catch (e) {
        if (!stopped && !(e instanceof ApiError && (e.status === 401 || e.status === 429))) err.replaceChildren(banner('error', `Could not refresh the provenance: ${lostMessage(e)}`));
      }
    }, 1500);
  };

  const onEvent = (name, data) => {
    const d = JSON.parse(data);
    if (name === 'state') { apply(d); return; }
    if (name === 'step') {
      if (!history.length || d.step > history[history.length - 1].step) history.push({ step: d.step, ...d.metrics });
      view.step = d.step;
      view.provenance = { ...view.provenance, samplers: d.samplers, qpu_access_time: d.qpu_access_time,
        examples: Object.values(d.samplers).reduce((a, b) => a + b, 0) };
      redrawSoon();
      refetchSoon();
    } else if (name === 'end') {
      view.state = d.state;
      view.reason = d.reason;
      drawHead();
      refetchSoon();
    }
  };

  follow(`/experiments/${id}/events`, {
    onEvent, signal: ctl.signal, live, stopped: () => stopped, liveText: 'Live: following the experiment.',
    over: () => view && view.state !== 'running' ? `The run is ${view.state}; nothing more will arrive.` : null,
    notFound: () => show(el('h1', {}, 'Experiment not found'), banner('error', `There is no experiment '${id}' of yours (it does not exist, or it belongs to someone else).`), el('p', {}, el('a', { href: '#/experiments' }, 'Back to the experiments'))),
  });
  return () => { stopped = true; clearTimeout(refetchTimer); cancelAnimationFrame(frame); window.removeEventListener('resize', onResize); ctl.abort(); };
}

route();
