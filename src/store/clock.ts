/**
 * The time a store goes by: `now` for timestamps and `status.expiresAt`, `after` for the timer that
 * ends a policy's duration. Tests give the memory store a clock they move by hand, so durations run
 * out without anyone waiting for them.
 */
export interface StoreClock {
  now(): Date;
  /** Calls `fn` once `ms` have passed by this clock; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: StoreClock = {
  now: () => new Date(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    // A pending expiry never keeps the process alive.
    timer.unref?.();
    return () => clearTimeout(timer);
  },
};
