const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const YEAR = 365 * DAY;

/** kubectl's AGE (k8s.io/apimachinery duration.HumanDuration): precise when short, coarse when long. */
export function humanDuration(ms: number): string {
  if (ms < -SECOND) return "<invalid>";
  if (ms < 0) return "0s";
  const s = Math.floor(ms / SECOND);
  if (s < 120) return `${s}s`;
  const m = Math.floor(ms / MINUTE);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 3 * 60) return `${m}m`;
  const h = Math.floor(ms / HOUR);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(ms / DAY);
  if (h < 8 * 24) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (ms < 2 * YEAR) return `${d}d`;
  const y = Math.floor(ms / YEAR);
  if (y < 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}
