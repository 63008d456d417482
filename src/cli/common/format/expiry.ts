import { humanDuration } from "./age.ts";

/**
 * Time left until `expiresAt` (RFC 3339), kubectl-style (`4m59s`, `6d23h`), rounded up to the
 * second so that a 10m policy applied just now shows `10m`; `expired` once it has passed (etcd
 * deletes an expired policy within a second or so, the filter stops it on time by its own clock).
 */
export function timeLeft(expiresAt: string | undefined, now: Date): string {
  if (expiresAt === undefined) return "<none>";
  const at = Date.parse(expiresAt);
  if (Number.isNaN(at)) return "<unknown>";
  const ms = at - now.getTime();
  return ms <= 0 ? "expired" : humanDuration(Math.ceil(ms / 1000) * 1000);
}
