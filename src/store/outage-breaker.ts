import { HfiError } from "../errors.ts";

export interface OutageBreakerOptions {
  /** Whether a failure means the backend is out of reach (as opposed to this one call being refused). */
  isOutage(err: unknown): boolean;
  /** Outages in a row that open the breaker. Default 3. */
  threshold?: number;
  /** How long an open breaker fails calls at once before letting them try again. Default 5000. */
  openMs?: number;
  now?: () => number;
}

/**
 * Fails calls at once while the backend is out of reach, so that requests are answered in
 * milliseconds instead of each waiting out its deadline. Only outages count: a call the backend
 * answers — with a result or a refusal of that call (a value too large, a lost race) — closes it
 * again, so one request's error never opens it for everyone.
 */
export interface OutageBreaker {
  run<T>(call: () => Promise<T>): Promise<T>;
}

export function createOutageBreaker(options: OutageBreakerOptions): OutageBreaker {
  const { isOutage, threshold = 3, openMs = 5000, now = Date.now } = options;
  let outagesInARow = 0;
  let openUntil = 0;

  const retryAfterSeconds = () => Math.max(0, Math.ceil((openUntil - now()) / 1000));

  return {
    async run(call) {
      if (now() < openUntil) {
        throw new HfiError(
          "Unavailable",
          `etcd unreachable: the last ${outagesInARow} calls failed or timed out; ` +
            `trying again in ${retryAfterSeconds()} s`,
        );
      }
      try {
        const result = await call();
        outagesInARow = 0;
        return result;
      } catch (err) {
        if (!isOutage(err)) {
          outagesInARow = 0;
        } else if (++outagesInARow >= threshold) {
          openUntil = now() + openMs;
        }
        throw err;
      }
    },
  };
}
