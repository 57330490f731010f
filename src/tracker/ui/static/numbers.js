// How the dashboard writes numbers, on every axis, tooltip and table: fmtNumber (a value),
// fmtTicks (an axis's tick labels), niceTicks (where an axis drawn by hand puts its ticks:
// the sweep's parallel coordinates and scatter). docs/dashboard.md, "Numbers".

// One way to write a number on every axis, tooltip and table: 3 significant digits by
// default, a k/M/B/T suffix from 1,000 on (1.2k, 60k, 1M), an exponent below 0.01
// (3e-4, 5e-3, 8.23e-11: learning rates as people write them), never 1.000e-3 or 10000.
const SUFFIXES = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "k"]];
const SMALL = 0.01;

export function fmtNumber(value, digits = 3) {
  if (value === null || value === undefined) return "-";
  if (typeof value !== "number") return String(value);
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  const rounded = Number(value.toPrecision(digits));  // 999,999 is 1M, not 1000k
  const abs = Math.abs(rounded);
  if (abs === 0) return "0";
  if (abs >= 1e15 || abs < SMALL) return exponent(rounded);
  const [div, suffix] = SUFFIXES.find(([d]) => abs >= d) || [1, ""];
  return `${Number((rounded / div).toPrecision(digits))}${suffix}`;
}

function exponent(value) {
  return value.toExponential().replace("e+", "e");  // 3e-4, 1.5e15
}

// Tick labels: each tick with the fewest digits that write it exactly (0, 5e-4, 1e-3,
// 1.5e-3; 10k, 10.001k), a tick within a rounding error of zero as 0 (0.1 + 0.2 reads
// 0.3), and every tick of an axis up to 0.01 with an exponent (0, 2e-3 ... 1e-2, not 8e-3
// beside 0.01).
export function fmtTicks(ticks) {
  const finite = ticks.filter(Number.isFinite);
  const gaps = finite.slice(1).map((t, i) => Math.abs(t - finite[i])).filter((d) => d > 0);
  const spacing = gaps.length ? Math.min(...gaps) : Math.max(0, ...finite.map(Math.abs)) || 1;
  const clean = ticks.map((t) => (Math.abs(t) < spacing * 1e-9 ? 0 : t));
  const top = Math.max(0, ...clean.filter(Number.isFinite).map(Math.abs));
  const digits = (t) => {
    for (let d = 1; d < 7; d++) if (Math.abs(Number(t.toPrecision(d)) - t) <= spacing * 1e-6) return d;
    return 7;
  };
  return clean.map((t) => {
    if (!Number.isFinite(t) || t === 0) return fmtNumber(t);
    return top <= SMALL ? exponent(Number(t.toPrecision(digits(t)))) : fmtNumber(t, digits(t));
  });
}

// About `count` "nice" ticks from lo to hi: 1, 2 or 5 times a power of ten apart; on a log
// scale the powers of ten (and 2 and 5 times them when the range spans less than two).
export function niceTicks(lo, hi, log = false, count = 5) {
  if (!(hi > lo)) return Number.isFinite(lo) ? [lo] : [];
  const exact = (v) => Number(v.toPrecision(12));  // 0.30000000000000004 is 0.3
  if (log && lo > 0) {
    const within = (t) => t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9);
    const tens = [], all = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      tens.push(Number(`1e${e}`));
      all.push(...[1, 2, 5].map((m) => Number(`${m}e${e}`)));
    }
    return tens.filter(within).length >= 3 ? tens.filter(within) : all.filter(within);
  }
  const rough = (hi - lo) / count, power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough * 0.999);
  const ticks = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) ticks.push(exact(k * step));
  return ticks;
}
