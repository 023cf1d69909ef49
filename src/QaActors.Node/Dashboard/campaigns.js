// The campaign pages (docs/campaigns.md, "On a node"; docs/operations.md, "Dashboard"): the list, and one campaign
// with its cells live, its report (Tables 1-3 beside the paper's values, the figures) and cancel / retry.
import { call, download, ApiError } from './api.js';
import { banner, el, fmt, follow, keepFocus, lostMessage, poller, show, stateClass } from './ui.js';

// A cell's states as the page names them: the report calls a completed cell "done".
const CELL_LABEL = { completed: 'done', running: 'running', failed: 'failed', waiting: 'waiting', cancelled: 'cancelled' };
const doneOf = c => c.completed + c.failed + c.cancelled;

function countsText(c) {
  return `${c.completed} done · ${c.running} running · ${c.failed} failed · ${c.waiting} waiting`
    + (c.cancelled ? ` · ${c.cancelled} cancelled` : '') + ` (of ${c.total})`;
}

// ---- the list ----
export function campaignsPage(me) {
  document.title = 'Campaigns · QaActors';
  let rows = [], loaded = false;
  const tbody = el('tbody'), err = el('div', { 'aria-live': 'polite' }), count = el('p', { class: 'help', id: 'campaigns-count' });
  const heads = ['Campaign', 'Name', 'User', 'State', 'Progress', 'Done', 'Running', 'Failed', 'Waiting'];
  const table = el('table', { id: 'campaigns' }, el('thead', {}, el('tr', {}, heads.map(h => el('th', { scope: 'col' }, h)))), tbody);
  const draw = () => keepFocus(table, () => {
    // data-label names each cell's column for the stacked layout of a narrow window (app.css).
    const td = (i, content, cls) => el('td', { class: cls, dataset: { label: heads[i] } }, content);
    tbody.replaceChildren(...rows.map(c => el('tr', { dataset: { id: c.campaign_id } },
      td(0, el('a', { href: `#/campaigns/${c.campaign_id}`, dataset: { key: `open-${c.campaign_id}` } }, c.campaign_id)),
      td(1, c.name ?? ''), td(2, c.user ?? ''),
      td(3, el('span', { class: `badge ${stateClass(c.state)}` }, c.state)),
      td(4, c.total === undefined ? '' : el('progress', { max: c.total || 1, value: doneOf(c), 'aria-label': `${c.campaign_id}: ${doneOf(c)} of ${c.total} cells finished` })),
      td(5, c.total === undefined ? '' : `${c.completed}/${c.total}`, 'num'),
      td(6, String(c.running ?? ''), 'num'), td(7, String(c.failed ?? ''), 'num'), td(8, String(c.waiting ?? ''), 'num'))));
    count.textContent = !loaded ? 'Loading…' : rows.length ? `${rows.length} campaign${rows.length === 1 ? '' : 's'}.`
      : me.admin ? 'No campaigns on this node yet.' : 'You have no campaigns yet: `qa campaign run FILE` starts one.';
  });
  show(el('h1', {}, 'Campaigns'), err, el('div', { class: 'table-wrap' }, table), count);
  draw();
  return poller(async signal => {
    rows = (await call('/campaigns', { signal })).sort((a, b) => a.campaign_id.localeCompare(b.campaign_id));
    loaded = true;
    err.replaceChildren();
    draw();
  }, e => err.replaceChildren(banner('error', lostMessage(e))));
}

// ---- one campaign ----
export function campaignPage(id) {
  document.title = `${id} · QaActors`;
  const ctl = new AbortController();
  let view = null, stopped = false, following = false, reportTimer = null, reportDone = -1, reportBusy = false, reportAgain = false;
  const blobs = new Map();  // figure name -> [key of the rows it shows, blob URL]
  const err = el('div', { 'aria-live': 'polite' });
  const live = el('p', { class: 'help', id: 'live', 'aria-live': 'polite' });
  const stateBadge = el('span', { class: 'badge', id: 'state' }), who = el('span'), counts = el('span', { id: 'counts' });
  const progress = el('progress', { 'aria-label': 'cells finished' });
  const cancel = el('button', { type: 'button', class: 'danger', id: 'cancel', hidden: true }, 'Cancel campaign');
  const retry = el('button', { type: 'button', id: 'retry', hidden: true }, 'Retry failed cells');
  const cellsBody = el('tbody');
  const cellHeads = ['Experiment', 'State', 'Step', 'Final test accuracy', 'Dataset', 'Classes', 'Method', 'Seed', 'Attempts', 'Reason'];
  const cellsTable = el('table', { id: 'cells' },
    el('thead', {}, el('tr', {}, cellHeads.map(h => el('th', { scope: 'col' }, h)))), cellsBody);
  const tables = el('div', { id: 'report-tables' }), figures = el('div', { class: 'figures', id: 'figures' },
    el('p', { class: 'help' }, 'The figures appear with the report.'));
  const reportNote = el('p', { class: 'help', id: 'report-note' }, 'The report appears once a cell is done.');
  const runtime = el('section', { 'aria-labelledby': 'h-runtime', id: 'runtime', hidden: true }, el('h3', { id: 'h-runtime' }, 'Fig. 5: the runtime study'));
  const runtimeBody = el('div', { 'aria-live': 'polite' });
  runtime.append(runtimeBody);
  show(el('h1', {}, 'Campaign ', el('span', { class: 'mono' }, id)), err,
    el('div', { class: 'exp-head' }, stateBadge, who, counts, progress, el('span', { class: 'actions' }, retry, cancel)), live,
    el('section', { 'aria-labelledby': 'h-cells' }, el('h2', { id: 'h-cells' }, 'Cells'), el('div', { class: 'table-wrap' }, cellsTable)),
    el('section', { 'aria-labelledby': 'h-report' }, el('h2', { id: 'h-report' }, 'Report'), reportNote, tables,
      el('h3', {}, 'Figures'), figures, runtime));

  const act = async (button, path, done) => {
    button.disabled = true;
    try {
      const s = await call(`/campaigns/${id}/${path}`, { method: 'POST' });
      live.textContent = done;
      view = { ...view, ...s };
      drawHead();
      if (!following) start();
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 429)) return;
      err.replaceChildren(banner('error', `${button.textContent} failed: ${lostMessage(e)}`));
    } finally { button.disabled = false; }
  };
  cancel.addEventListener('click', () => act(cancel, 'cancel', 'Cancel requested: running experiments stop after their current step, nothing more is submitted.'));
  retry.addEventListener('click', () => act(retry, 'retry-failed', 'The failed and cancelled cells wait again with fresh attempts.'));

  const drawHead = () => {
    stateBadge.textContent = view.state;
    stateBadge.className = `badge ${stateClass(view.state)}`;
    who.textContent = `${view.name} · ${view.user}`;
    counts.textContent = countsText(view);
    progress.max = view.total || 1;
    progress.value = doneOf(view);
    cancel.hidden = view.state !== 'running';
    retry.hidden = view.failed + view.cancelled === 0;
  };

  const drawCells = () => keepFocus(cellsTable, () => {
    const steps = view.steps_in_flight || {};
    cellsBody.replaceChildren(...(view.cells || []).map(c => {
      const step = c.status === 'running' && steps[c.experiment_id] !== undefined ? steps[c.experiment_id] : c.last_step;
      const td = (i, content, cls, field) => el('td', { class: cls, dataset: { label: cellHeads[i], field } }, content);
      return el('tr', { dataset: { id: c.experiment_id, status: c.status } },
        td(0, el('a', { href: `#/experiments/${c.experiment_id}`, dataset: { key: `open-${c.experiment_id}` } }, c.experiment_id)),
        td(1, el('span', { class: `badge ${stateClass(c.status)}`, dataset: { field: 'status' } }, CELL_LABEL[c.status] ?? c.status)),
        td(2, step === undefined || step === null ? '–' : `${step}/${c.steps ?? '?'}`, 'num', 'step'),
        td(3, fmt(c.final_accuracy, 4), 'num'),
        td(4, c.study === 'Equivalence' ? `${c.dataset} (Sec. 5.1)` : c.dataset),
        td(5, `${c.class_a},${c.class_b}`), td(6, String(c.method).toLowerCase()), td(7, String(c.seed), 'num'),
        td(8, String(c.attempts), 'num'), td(9, c.reason ?? ''));
    }));
  });

  // The report follows the finished cells: asked for again (at most one request at a time) when their number changes.
  const reportSoon = () => {
    if (!view || doneOf(view) === reportDone || reportTimer) return;
    reportTimer = setTimeout(loadReport, 300);
  };
  const loadReport = async () => {
    reportTimer = null;
    if (reportBusy) { reportAgain = true; return; }
    reportBusy = true;
    const done = doneOf(view);
    try {
      const report = await call(`/campaigns/${id}/report`, { signal: ctl.signal });
      if (stopped) return;
      reportDone = done;
      drawReport(report);
      await drawFigures(report);
    } catch (e) {
      if (!stopped && !(e instanceof ApiError && (e.status === 401 || e.status === 429)))
        err.replaceChildren(banner('error', `The report could not be read: ${lostMessage(e)}`));
    } finally {
      reportBusy = false;
      if (reportAgain && !stopped) { reportAgain = false; reportSoon(); }
    }
  };

  const drawReport = report => {
    const rows = report.tables || [];
    reportNote.textContent = rows.length ? `Ours beside the paper (${report.paper}); the definitions are in docs/campaigns.md. As of ${report.cells.filter(c => c.status === 'completed').length} of ${report.cells.length} cells done.`
      : 'No training pairs in this campaign: Tables 1-3 are made of its Sec. 5.2 cells.';
    tables.replaceChildren(...(rows.length ? [
      reportTable('table1', 'Table 1: mean final test accuracy of the successful runs', rows, r => [
        stats(r.final_accuracy, 4), fmt(r.paper_accuracy, 4), signed(r.accuracy_difference, 4)]),
      reportTable('table2', 'Table 2: step at which the mean test accuracy of the successful runs first exceeds 70 %', rows, r => [
        `${r.steps_to_70_text} [${stats(r.run_steps_to_70, 1)}]`, r.paper_steps_to_70 ?? '–', signed(r.steps_difference, 0)]),
      reportTable('table3', 'Table 3: success rate in percent (successful / completed runs)', rows, r => [
        `${fmt(r.success_rate, 0)} (${r.successes}/${r.runs}${r.failed ? `, ${r.failed} failed` : ''})`, fmt(r.paper_success_rate, 0), signed(r.success_difference, 0)]),
    ] : []));
  };

  const drawFigures = async report => {
    const names = report.figures || [];
    for (const [name, [, url]] of blobs) if (!names.includes(name)) { URL.revokeObjectURL(url); blobs.delete(name); }
    // A figure is fetched again only when the rows of its pair changed (fig. 3: when any cell finished).
    const keyOf = name => {
      const mine = (report.tables || []).filter(r => `fig4-${fileSafe(r.dataset)}-${r.pair}.png` === name);
      return mine.length ? JSON.stringify(mine) : `cells:${reportDone}`;
    };
    for (const name of names) {
      const key = keyOf(name);
      if (blobs.get(name)?.[0] === key) continue;
      const r = await call(`/campaigns/${id}/figures/${encodeURIComponent(name)}`, { raw: true, signal: ctl.signal });
      const url = URL.createObjectURL(await r.blob());
      if (stopped) { URL.revokeObjectURL(url); return; }
      const old = blobs.get(name);
      if (old) URL.revokeObjectURL(old[1]);
      blobs.set(name, [key, url]);
    }
    if (stopped) return;
    keepFocus(figures, () => figures.replaceChildren(...(names.length ? names.map(name => figureCard(name, blobs.get(name)[1])) : [
      el('p', { class: 'help' }, 'No figures yet.')])));
  };

  const figureCard = (name, url, caption, alt) => {
    const what = caption ?? (name.startsWith('fig3-') ? `Fig. 3 (equivalence), ${name.slice(5, -4)}` : `Fig. 4, ${name.slice(5, -4)}`);
    const button = el('button', { type: 'button', class: 'link', dataset: { figure: name, key: `download-${name}` } }, `Download ${name}`);
    button.addEventListener('click', async () => {
      button.disabled = true;
      try { await download(`/campaigns/${id}/figures/${encodeURIComponent(name)}`, name); }
      catch (e) { if (e instanceof ApiError && e.status !== 401) err.replaceChildren(banner('error', `Download failed: ${e.message}`)); }
      finally { button.disabled = false; button.focus(); }
    });
    return el('figure', { class: 'card figure', dataset: { name } },
      el('figcaption', {}, what),
      el('img', { src: url, alt: alt ?? name.startsWith('fig3-')
        ? `${what}: the MLP's training loss, the EBM's log-likelihood and both test accuracies, each with the other's weights`
        : `${what}: mean test accuracy per step of each method over its successful runs, shaded ± one std` }),
      button);
  };

  // Fig. 5 is measured on the node when asked (CampaignRuntimeApi), not with the grid; its state is polled while it runs.
  let runtimeUrl = null, stopRuntimePoll = null;
  const drawRuntime = async st => {
    runtime.hidden = false;
    if (st.state === 'completed') {
      if (stopRuntimePoll) { stopRuntimePoll(); stopRuntimePoll = null; }
      if (!runtimeUrl) {
        const r = await call(`/campaigns/${id}/figures/fig5.png`, { raw: true, signal: ctl.signal });
        runtimeUrl = URL.createObjectURL(await r.blob());
      }
      const s = st.study || {};
      runtimeBody.replaceChildren(
        el('p', { class: 'help' }, `Measured on this node: sizes ${st.sizes[0]} to ${st.sizes[st.sizes.length - 1]}, ${s.reads} reads, ${s.sweeps} sweeps, measured up to ${s.measure_max_size} `
          + `and extrapolated above; the largest N-1 model embedded is N = ${s.max_size_pegasus16} on Pegasus P16 and ${s.max_size_zephyr15} on Zephyr Z15.`),
        figureCard('fig5.png', runtimeUrl, 'Fig. 5, runtime against model size',
          'Fig. 5: log-log runtime against model size of the MLP product, the EBM Gibbs sampling and the QPU access time, with the graphs\' capacities marked'));
      return;
    }
    const start = el('button', { type: 'button', id: 'run-runtime' }, st.state === 'failed' ? 'Run the runtime study again' : 'Run the runtime study on this node');
    start.addEventListener('click', async () => {
      start.disabled = true;
      try { await drawRuntime(await call(`/campaigns/${id}/runtime`, { method: 'POST' })); }
      catch (e) {
        if (e instanceof ApiError && (e.status === 401 || e.status === 429)) return;
        runtimeBody.append(banner('error', `Not started: ${lostMessage(e)}`));
        start.disabled = false;
      }
    });
    runtimeBody.replaceChildren(
      st.state === 'running' ? el('p', { id: 'runtime-state' }, `Running on this node since ${new Date(st.started).toLocaleTimeString()}; the figure appears here when it is done.`)
        : el('p', { class: 'help', id: 'runtime-state' }, st.state === 'failed' ? `The study failed: ${st.reason}` :
          `This campaign has a runtime study (${st.sizes.length} sizes from ${st.sizes[0]} to ${st.sizes[st.sizes.length - 1]}). It measures the machine it runs on, `
          + 'so it runs only when asked, one at a time per node; it takes from a minute to much longer with large sizes.'),
      st.state === 'running' ? null : start);
    if (st.state === 'running' && !stopRuntimePoll) {
      stopRuntimePoll = poller(async signal => { const again = await call(`/campaigns/${id}/runtime`, { signal }); if (again.state !== 'running') await drawRuntime(again); },
        e => err.replaceChildren(banner('error', `The runtime study's state could not be read: ${lostMessage(e)}`)));
    }
  };
  call(`/campaigns/${id}/runtime`, { signal: ctl.signal }).then(drawRuntime, e => {
    // 404: no runtime block (or not the caller's campaign, which the event stream says for the whole page).
    if (!stopped && !(e instanceof ApiError && [401, 404, 429].includes(e.status))) err.replaceChildren(banner('error', `The runtime study's state could not be read: ${lostMessage(e)}`));
  });

  const onEvent = (name, data) => {
    const d = JSON.parse(data);
    if (name === 'state') { view = d; drawHead(); drawCells(); reportSoon(); }
    else if (name === 'progress') { view = { ...view, ...d, cells: view.cells }; drawHead(); drawCells(); }
    else if (name === 'end') { view.state = d.state; drawHead(); reportSoon(); }
  };

  const start = () => {
    following = true;
    follow(`/campaigns/${id}/events`, {
      onEvent, signal: ctl.signal, live, stopped: () => stopped, liveText: 'Live: following the campaign.',
      over: () => {
        if (!view || view.state === 'running') return null;
        following = false;
        return `The campaign is ${view.state}; nothing more will arrive.`;
      },
      notFound: () => show(el('h1', {}, 'Campaign not found'),
        banner('error', `There is no campaign '${id}' of yours (it does not exist, or it belongs to someone else).`),
        el('p', {}, el('a', { href: '#/campaigns' }, 'Back to the campaigns'))),
    });
  };
  start();
  return () => {
    stopped = true;
    if (stopRuntimePoll) stopRuntimePoll();
    if (runtimeUrl) URL.revokeObjectURL(runtimeUrl);
    clearTimeout(reportTimer);
    ctl.abort();
    for (const [, url] of blobs.values()) URL.revokeObjectURL(url);
  };
}

// CampaignReport.FileSafe: the dataset part of a figure's file name.
const fileSafe = s => s.replace(/[^A-Za-z0-9_-]/g, '_');

function stats(s, d) {
  if (!s || !s.n) return '–';
  return s.n === 1 ? `${fmt(s.mean, d)} (n=1)` : `${fmt(s.mean, d)} ± ${fmt(s.std, d)} (n=${s.n})`;
}

function signed(x, d) {
  if (x === undefined || x === null || !Number.isFinite(x)) return '–';
  return `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(d)}`;
}

/** One of Tables 1-3 in the paper's layout: a row per pair, per method three columns (ours, the paper's, ours − paper). */
function reportTable(tableId, caption, rows, cells) {
  const methods = [...new Map(rows.map(r => [r.method, r.method_title ?? r.method])).entries()];
  const pairs = [...new Map(rows.map(r => [`${r.dataset} ${r.pair}`, r])).values()];
  // The title stands outside the scrolling box, so that a narrow window shows it whole above the sideways-scrolling table.
  return el('div', { class: 'report-table' }, el('h4', { id: `${tableId}-title` }, caption), el('div', { class: 'table-wrap' }, el('table', { id: tableId, class: 'report', 'aria-labelledby': `${tableId}-title` },
    el('thead', {},
      el('tr', {}, el('th', { scope: 'col', rowspan: 2 }, 'Dataset'), el('th', { scope: 'col', rowspan: 2 }, 'Class'),
        methods.map(([, title]) => el('th', { scope: 'colgroup', colspan: 3, class: 'group' }, title))),
      el('tr', {}, methods.flatMap(() => ['ours', 'paper', 'Δ'].map(h => el('th', { scope: 'col', class: 'num' }, h))))),
    el('tbody', {}, pairs.map(p => el('tr', { dataset: { pair: `${p.dataset} ${p.pair}` } },
      el('th', { scope: 'row' }, p.dataset_title ?? p.dataset), el('td', {}, p.label ?? p.pair),
      methods.flatMap(([m]) => {
        const r = rows.find(x => x.dataset === p.dataset && x.pair === p.pair && x.method === m);
        const [ours, paper, diff] = r ? cells(r) : ['–', '–', '–'];
        return [el('td', { class: 'num', dataset: { method: m, field: 'ours' } }, ours), el('td', { class: 'num paper', dataset: { method: m, field: 'paper' } }, paper),
          el('td', { class: 'num', dataset: { method: m, field: 'diff' } }, diff)];
      })))))));
}
