// Medians and human-readable figures. No assertions: the bench reports, it never fails on speed.

export function median(xs) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summarize(samplesNs) {
  return {
    median_ns: median(samplesNs),
    min_ns: Math.min(...samplesNs),
    max_ns: Math.max(...samplesNs),
    runs: samplesNs.length,
    samples_ns: samplesNs,
  };
}

export function fmtNs(ns) {
  if (!Number.isFinite(ns)) return 'n/a';
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(ns >= 1e8 ? 0 : 1)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(0)} ns`;
}

export function fmtRatio(r) {
  if (!Number.isFinite(r)) return 'n/a';
  return r < 0.1 ? `${r.toFixed(3)}x` : `${r.toFixed(2)}x`;
}

export function fmtRate(perSec) {
  if (!Number.isFinite(perSec)) return 'n/a';
  return perSec >= 1e6 ? `${(perSec / 1e6).toFixed(2)} M/s` : `${(perSec / 1e3).toFixed(1)} k/s`;
}
