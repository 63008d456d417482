/** Go `time.ParseDuration` syntax without a sign: one or more decimal numbers, each with a unit. */
export const GO_DURATION = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const COMPONENT = /(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/g;

const NANOS_PER_UNIT: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 MICRO SIGN
  μs: 1_000n, // U+03BC GREEK SMALL LETTER MU
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const NANOS_PER_MS = 1_000_000n;
const NANOS_PER_SECOND = 1_000_000_000n;

export const MIN_DELAY_MS = 1;
export const MAX_DELAY_MS = 60 * 60 * 1000;

/**
 * Bounds of `spec.duration`, the lifetime of an experiment. Whole seconds, because an etcd lease TTL
 * is a whole number of seconds; at most 7 days (`168h`: Go durations have no day unit), so that a
 * forgotten experiment still ends within a week.
 */
export const MIN_POLICY_DURATION_MS = 1000;
export const MAX_POLICY_DURATION_MS = 7 * 24 * 60 * 60 * 1000;

export type DurationResult = { success: true; ms: number } | { success: false; message: string };

const MALFORMED = "must be a duration such as 100ms, 2s or 1m30s";

/**
 * A Go-style duration (`100ms`, `2s`, `1m30s`, `1.5h`) as whole milliseconds within 1ms..1h. Exact:
 * the sum is kept as a fraction of nanoseconds, so `0.1s` is 100 ms and `1500us` is refused rather
 * than rounded.
 */
export function parseDelay(text: string): DurationResult {
  const nanos = exactNanos(text);
  if (nanos === undefined) return { success: false, message: MALFORMED };
  const ms = wholeUnits(nanos, NANOS_PER_MS);
  if (ms === undefined) return { success: false, message: "must be a whole number of milliseconds" };
  if (ms < BigInt(MIN_DELAY_MS) || ms > BigInt(MAX_DELAY_MS)) {
    return { success: false, message: "must be between 1ms and 1h" };
  }
  return { success: true, ms: Number(ms) };
}

/** `spec.duration`: a Go-style duration of whole seconds within 1s..168h (7 days), in ms. */
export function parsePolicyDuration(text: string): DurationResult {
  const nanos = exactNanos(text);
  if (nanos === undefined) return { success: false, message: "must be a duration such as 30s, 10m or 2h" };
  const seconds = wholeUnits(nanos, NANOS_PER_SECOND);
  if (seconds === undefined) return { success: false, message: "must be a whole number of seconds" };
  const ms = seconds * 1000n;
  if (ms < BigInt(MIN_POLICY_DURATION_MS) || ms > BigInt(MAX_POLICY_DURATION_MS)) {
    return { success: false, message: "must be between 1s and 168h (7 days)" };
  }
  return { success: true, ms: Number(ms) };
}

/** Any Go-style duration (`500ms`, `1m30s`, `1.5h`) rounded to whole milliseconds; undefined if malformed. */
export function parseGoDurationMs(text: string): number | undefined {
  const nanos = exactNanos(text);
  return nanos && Math.round(Number(nanos.numerator) / Number(nanos.denominator * NANOS_PER_MS));
}

/** The duration as an exact fraction of nanoseconds, or undefined when it is not Go syntax. */
function exactNanos(text: string): { numerator: bigint; denominator: bigint } | undefined {
  if (text.length > 64 || !GO_DURATION.test(text)) return undefined;
  let numerator = 0n;
  let denominator = 1n;
  for (const [, whole = "", fraction = "", unit = ""] of text.matchAll(COMPONENT)) {
    const scale = 10n ** BigInt(fraction.length);
    const value = BigInt(`${whole}${fraction}` || "0") * (NANOS_PER_UNIT[unit] ?? 0n);
    numerator = numerator * scale + value * denominator;
    denominator *= scale;
  }
  return { numerator, denominator };
}

/** The fraction in whole `nanosPerUnit` units, or undefined when it is not a whole number of them. */
function wholeUnits(
  { numerator, denominator }: { numerator: bigint; denominator: bigint },
  nanosPerUnit: bigint,
): bigint | undefined {
  const per = denominator * nanosPerUnit;
  return numerator % per === 0n ? numerator / per : undefined;
}
