/**
 * Kolmogorov–Smirnov checks of delays against the distribution a policy asked for: the CDFs of the
 * delay forms, the statistic for samples rounded to whole milliseconds, and the critical value.
 */

/** Φ, the standard normal CDF (Abramowitz & Stegun 7.1.26 for erf; absolute error below 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** The standard normal's 0.99 quantile. */
const Z_99 = 2.3263478740408408;

/** CDF of the log-normal delay with median p50 and 99th percentile p99 (ms). */
export function lognormalCdf(p50: number, p99: number): (ms: number) => number {
  const sigma = Math.log(p99 / p50) / Z_99;
  return (ms) => (ms <= 0 ? 0 : normalCdf(Math.log(ms / p50) / sigma));
}

/** CDF of a delay uniform over [min, max] (ms). */
export function uniformCdf(min: number, max: number): (ms: number) => number {
  return (ms) => Math.min(1, Math.max(0, (ms - min) / (max - min)));
}

/**
 * The KS statistic of whole-millisecond samples drawn by rounding a continuous delay with CDF `cdf`:
 * the rounded delay is ≤ k exactly when the continuous one is < k + 0.5, so both CDFs are steps at
 * the integers and the supremum is taken there.
 */
export function ksRounded(samples: number[], cdf: (ms: number) => number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  let d = 0;
  for (let i = 0; i < sorted.length; i++) {
    const k = sorted[i]!;
    if (i + 1 < sorted.length && sorted[i + 1] === k) continue;
    d = Math.max(d, Math.abs((i + 1) / sorted.length - cdf(k + 0.5)));
  }
  // Below the smallest sample the empirical CDF is 0.
  return Math.max(d, cdf(sorted[0]! - 0.5));
}

/**
 * Observed delays fit `cdf` up to a lateness of at most `lateMs`: every observation is the drawn
 * delay plus something in [0, lateMs], so the empirical CDF lies between cdf(x − lateMs) and cdf(x).
 * Returns the largest excursion outside that band (0 when inside) — compare it with the KS critical
 * value as the statistic of an exact fit.
 */
export function ksBandExcursion(samples: number[], cdf: (ms: number) => number, lateMs: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const x = sorted[i]!;
    // Just below x the empirical CDF is i/n, at x it is (i+1)/n.
    d = Math.max(d, (i + 1) / n - cdf(x), cdf(x - lateMs) - i / n);
  }
  return d;
}

/** The KS critical value for n samples at significance α = 0.001 (asymptotic: 1.9495/√n). */
export function ksCritical(n: number): number {
  return 1.9495 / Math.sqrt(n);
}
