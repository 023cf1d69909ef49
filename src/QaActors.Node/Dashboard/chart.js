// Line charts as inline SVG, drawn from the experiment's history (docs/operations.md, "Dashboard"). Each series is a
// polyline plus one marker per recorded step, so a reader (and the browser tests) can count what has been plotted.

const NS = 'http://www.w3.org/2000/svg';
const H = 280, M = { left: 56, right: 16, bottom: 40 };

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
  // Drawn at the width it is shown at, so that its labels keep their size on a narrow window instead of shrinking.
  const W = Math.max(300, Math.round(svg.getBoundingClientRect().width) || 640);
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('role', 'img');
  const all = series.flatMap(s => s.points).filter(p => Number.isFinite(p[1]));
  const total = series.reduce((n, s) => n + s.points.length, 0);
  svg.dataset.points = String(total);
  const last = series.map(s => s.points.length ? `${s.name} ${label(s.points[s.points.length - 1][1])}` : `${s.name}: none yet`);
  svg.setAttribute('aria-label', `${opts.title}: ${total} points; last ${last.join(', ')}`);
  svg.appendChild(svgEl('title', {}, `${opts.title} (${total} points)`));

  // The legend goes above the plot, one item after the other, wrapping on a narrow chart, so it never hides a curve.
  const legend = [];
  let lx = M.left, ly = 16;
  series.forEach((s, i) => {
    const pts = s.points.filter(p => Number.isFinite(p[1]));
    const text = s.name + (pts.length ? ` ${label(pts[pts.length - 1][1])}` : '');
    const w = 24 + text.length * 7;
    if (lx > M.left && lx + w > W - M.right) { lx = M.left; ly += 16; }
    legend.push({ i, text, x: lx, y: ly });
    lx += w + 18;
  });
  const top = ly + 20;

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
  const py = y => H - M.bottom - (y - y0) / (y1 - y0) * (H - top - M.bottom);

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
  svg.appendChild(svgEl('rect', { x: M.left, y: top, width: W - M.left - M.right, height: H - top - M.bottom, class: 'frame' }));
  svg.appendChild(svgEl('text', { x: (M.left + W - M.right) / 2, y: H - 4, 'text-anchor': 'middle', class: 'axis' }, opts.xLabel));
  svg.appendChild(svgEl('text', { x: 14, y: (top + H - M.bottom) / 2, 'text-anchor': 'middle', class: 'axis',
    transform: `rotate(-90 14 ${(top + H - M.bottom) / 2})` }, opts.yLabel));

  for (const l of legend) {
    svg.appendChild(svgEl('line', { x1: l.x, x2: l.x + 18, y1: l.y - 4, y2: l.y - 4, class: `legend s${l.i}` }));
    svg.appendChild(svgEl('text', { x: l.x + 24, y: l.y, class: 'legend-text' }, l.text));
  }
  series.forEach((s, i) => {
    const g = svgEl('g', { class: `series s${i}`, 'data-series': s.key });
    const pts = s.points.filter(p => Number.isFinite(p[1]));
    if (pts.length > 1) g.appendChild(svgEl('polyline', { points: pts.map(p => `${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ') }));
    // Markers help to read a short run step by step; on a long one they would only blot the line.
    if (pts.length <= 300) for (const p of pts) {
      const c = svgEl('circle', { cx: px(p[0]).toFixed(1), cy: py(p[1]).toFixed(1), r: 3, class: 'pt' });
      c.appendChild(svgEl('title', {}, `${s.name}, step ${p[0]}: ${label(p[1])}`));
      g.appendChild(c);
    }
    svg.appendChild(g);
  });
}
