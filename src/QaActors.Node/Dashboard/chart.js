// Line charts as inline SVG, drawn from the experiment's history (docs/operations.md, "Dashboard"). Each series is a
// polyline plus one marker per recorded step, so a reader (and the browser tests) can count what has been plotted.

const NS = 'http://www.w3.org/2000/svg';
const W = 640, H = 260, M = { left: 56, right: 16, top: 16, bottom: 40 };

function svgEl(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// Round tick steps (1, 2 or 5 times a power of ten) so that the axes read like a person would label them.
export function ticks(lo, hi, want) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, want);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map(f => f * mag).find(s => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function label(v) {
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.01 || a >= 1e5)) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

/**
 * Draws series = [{ key, name, points: [[x, y], ...] }] into the svg element, replacing what was there.
 * opts: { title, xLabel, yLabel, yMin, yMax } (yMin/yMax fix the range, e.g. 0..1 for accuracy).
 */
export function drawChart(svg, series, opts) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('role', 'img');
  const all = series.flatMap(s => s.points).filter(p => Number.isFinite(p[1]));
  const total = series.reduce((n, s) => n + s.points.length, 0);
  svg.dataset.points = String(total);
  const last = series.map(s => s.points.length ? `${s.name} ${label(s.points[s.points.length - 1][1])}` : `${s.name}: none yet`);
  svg.setAttribute('aria-label', `${opts.title}: ${total} points; last ${last.join(', ')}`);
  svg.appendChild(svgEl('title', {}, `${opts.title} (${total} points)`));

  let xs = all.map(p => p[0]), ys = all.map(p => p[1]);
  let x0 = xs.length ? Math.min(...xs) : 0, x1 = xs.length ? Math.max(...xs) : 1;
  if (x1 <= x0) x1 = x0 + 1;
  let y0 = opts.yMin ?? (ys.length ? Math.min(...ys) : 0), y1 = opts.yMax ?? (ys.length ? Math.max(...ys) : 1);
  if (opts.yMin === undefined || opts.yMax === undefined) {
    const pad = (y1 - y0) * 0.08 || Math.abs(y1) * 0.1 || 0.1;
    if (opts.yMin === undefined) y0 -= pad;
    if (opts.yMax === undefined) y1 += pad;
  }
  const px = x => M.left + (x - x0) / (x1 - x0) * (W - M.left - M.right);
  const py = y => H - M.bottom - (y - y0) / (y1 - y0) * (H - M.top - M.bottom);

  const grid = svgEl('g', { class: 'grid' });
  for (const t of ticks(y0, y1, 5)) {
    grid.appendChild(svgEl('line', { x1: M.left, x2: W - M.right, y1: py(t), y2: py(t) }));
    grid.appendChild(svgEl('text', { x: M.left - 6, y: py(t) + 4, 'text-anchor': 'end', class: 'tick' }, label(t)));
  }
  const xt = ticks(x0, x1, 8).filter(t => Number.isInteger(t));
  for (const t of xt) {
    grid.appendChild(svgEl('line', { x1: px(t), x2: px(t), y1: H - M.bottom, y2: H - M.bottom + 5 }));
    grid.appendChild(svgEl('text', { x: px(t), y: H - M.bottom + 18, 'text-anchor': 'middle', class: 'tick' }, label(t)));
  }
  svg.appendChild(grid);
  svg.appendChild(svgEl('rect', { x: M.left, y: M.top, width: W - M.left - M.right, height: H - M.top - M.bottom, class: 'frame' }));
  svg.appendChild(svgEl('text', { x: (M.left + W - M.right) / 2, y: H - 4, 'text-anchor': 'middle', class: 'axis' }, opts.xLabel));
  svg.appendChild(svgEl('text', { x: 14, y: (M.top + H - M.bottom) / 2, 'text-anchor': 'middle', class: 'axis',
    transform: `rotate(-90 14 ${(M.top + H - M.bottom) / 2})` }, opts.yLabel));

  series.forEach((s, i) => {
    const g = svgEl('g', { class: `series s${i}`, 'data-series': s.key });
    const pts = s.points.filter(p => Number.isFinite(p[1]));
    if (pts.length > 1) g.appendChild(svgEl('polyline', { points: pts.map(p => `${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ') }));
    for (const p of pts) {
      const c = svgEl('circle', { cx: px(p[0]).toFixed(1), cy: py(p[1]).toFixed(1), r: 3, class: 'pt' });
      c.appendChild(svgEl('title', {}, `${s.name}, step ${p[0]}: ${label(p[1])}`));
      g.appendChild(c);
    }
    svg.appendChild(g);
    // Legend, top right inside the frame.
    const lx = W - M.right - 150, ly = M.top + 14 + i * 16;
    svg.appendChild(svgEl('line', { x1: lx, x2: lx + 18, y1: ly - 4, y2: ly - 4, class: `legend s${i}` }));
    svg.appendChild(svgEl('text', { x: lx + 24, y: ly, class: 'legend-text' }, s.name));
  });
}
