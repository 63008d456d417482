import { setTickPeriod } from "../abi/host";

/** Wake-up time meaning "no tick needed". */
export const NO_WAKE: u64 = u64.MAX_VALUE;
const NS_PER_MS: u64 = 1_000_000;

/**
 * A root context's single Envoy timer (proxy_set_tick_period_milliseconds), aimed at the earliest
 * moment one of its users needs a tick. Envoy restarts the countdown on every set and re-arms with
 * the current period after each on_tick, so the period is set only when it has to change: in on_tick
 * when the next wake-up is a different distance away, elsewhere only when setting it would make the
 * timer fire sooner than it already will. Off (period 0) whenever nothing is due.
 */
export class Timer {
  private periodMs: u32 = 0;
  /** When the running countdown started: the last set, or the last tick (Envoy re-arms after it). */
  private armedAtNs: u64 = 0;

  get running(): bool {
    return this.periodMs != 0;
  }

  /** Programs the timer for `wakeNs` (monotonic ns, or NO_WAKE); `inTick` when called from on_tick. */
  schedule(nowNs: u64, wakeNs: u64, inTick: bool): void {
    if (wakeNs == NO_WAKE) {
      if (this.periodMs != 0) this.set(0, nowNs);
      return;
    }
    if (inTick) this.armedAtNs = nowNs;
    const period = periodFor(nowNs, wakeNs);
    // Outside a tick, a set only helps if it makes the timer fire sooner than it already will.
    const firesAtNs = this.armedAtNs + <u64>this.periodMs * NS_PER_MS;
    const stale = inTick
      ? period != this.periodMs
      : this.periodMs == 0 || nowNs + <u64>period * NS_PER_MS < firesAtNs;
    if (stale) this.set(period, nowNs);
  }

  private set(periodMs: u32, nowNs: u64): void {
    setTickPeriod(periodMs);
    this.periodMs = periodMs;
    this.armedAtNs = nowNs;
  }
}

/** Whole milliseconds from now to `wakeNs`, rounded up so the tick is never early; at least 1. */
function periodFor(nowNs: u64, wakeNs: u64): u32 {
  if (wakeNs <= nowNs) return 1;
  const ms = (wakeNs - nowNs + NS_PER_MS - 1) / NS_PER_MS;
  return <u32>min(max(ms, 1), <u64>u32.MAX_VALUE);
}
