import { GRPCDeadlineExceededError, GRPCUnavailableError, type IOptions } from "etcd3";
import { HfiError } from "../errors.ts";

type FaultHandling = NonNullable<IOptions["faultHandling"]>;
type Policy = NonNullable<FaultHandling["global"]>;
type Backoff = NonNullable<FaultHandling["watchBackoff"]>;

/**
 * Runs each call once, as it is. etcd3's defaults retry every failed call three times (a delete
 * that was carried out but answered late is sent again and answered "not found") and open a
 * circuit breaker on any error (one oversized value shuts out every request); the store does its
 * own: no retries, and an OutageBreaker that counts only outages. etcd3 only calls `execute`.
 */
const RUN_ONCE = {
  execute: (fn: (context: { signal: AbortSignal }) => unknown) =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal })),
} as unknown as Policy;

/** How long a member whose call failed for want of a connection or an answer is passed over. */
const SKIP_MEMBER_MS = 2000;

/**
 * Per member: runs each call once, as RUN_ONCE does, but after an outage of a member (no
 * connection, no answer in time) refuses its calls for SKIP_MEMBER_MS without sending them, which
 * makes etcd3's pool send them to another member instead — unless every member is being passed
 * over. Without it the pool keeps picking a dead member of a cluster that still has a quorum, and a
 * third of all calls fail. A call that reached a member is never sent again elsewhere: it may have
 * been carried out.
 */
function skipFailedMembers(): (host: string) => Policy {
  const skipUntil = new Map<string, number>();
  const allSkipped = (now: number) => [...skipUntil.values()].every((until) => now < until);
  return (host) => {
    skipUntil.set(host, 0);
    return {
      async execute(fn: (context: { signal: AbortSignal }) => unknown) {
        const now = Date.now();
        if (now < (skipUntil.get(host) ?? 0) && !allSkipped(now)) {
          throw new GRPCUnavailableError("etcd member passed over after an outage");
        }
        try {
          return await fn({ signal: new AbortController().signal });
        } catch (err) {
          if (isOutage(err)) skipUntil.set(host, Date.now() + SKIP_MEMBER_MS);
          throw err;
        }
      },
    } as unknown as Policy;
  };
}

/** etcd3 client settings for the store. */
export function clientOptions(endpoints: string[], requestTimeoutMs: number): IOptions {
  return {
    hosts: endpoints,
    dialTimeout: requestTimeoutMs,
    // Unary calls get a deadline, so an unreachable cluster fails a request instead of holding it.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + requestTimeoutMs }),
    grpcOptions: { "grpc.max_receive_message_length": -1, "grpc.use_local_subchannel_pool": 1 },
    faultHandling: { global: RUN_ONCE, host: skipFailedMembers(), watchBackoff: backoff(100, 2000) },
  };
}

/** Whether a failed call means etcd is out of reach: no connection, or no answer in time. */
export function isOutage(err: unknown): boolean {
  return err instanceof GRPCUnavailableError || err instanceof GRPCDeadlineExceededError;
}

/** Watch reconnects: doubling from `initialMs`, at most `maxMs`, so a recovered etcd is noticed soon. */
function backoff(initialMs: number, maxMs: number): Backoff {
  const step = (duration: number): Backoff => ({
    duration,
    next: () => step(Math.min(duration * 2, maxMs)),
  });
  return step(initialMs);
}

/**
 * Any failure of the etcd client: a value etcd refuses (PayloadTooLarge), or the cluster could not
 * be reached or did not answer in time (Unavailable). `mayHaveHappened` is said of a change whose
 * answer did not come in time: etcd may have carried it out.
 */
export function toHfiError(err: unknown, mayHaveHappened?: string): HfiError {
  const message = err instanceof Error ? err.message : String(err);
  if (message.includes("request is too large") || message.includes("RESOURCE_EXHAUSTED")) {
    return new HfiError("PayloadTooLarge", "the policy is larger than etcd accepts");
  }
  if (err instanceof GRPCDeadlineExceededError) {
    const outcome = mayHaveHappened ? `; ${mayHaveHappened}` : "";
    return new HfiError("Unavailable", `etcd did not answer in time${outcome}`);
  }
  const first = (message.split("\n")[0] ?? "").replace(/\s*Resolution note:.*$/, "");
  const outcome = mayHaveHappened && !NEVER_SENT.test(message) ? `; ${mayHaveHappened}` : "";
  return new HfiError("Unavailable", `etcd unreachable: ${first}${outcome}`);
}

/**
 * UNAVAILABLE that left before the request reached a member: no connection, a member passed over
 * (skipFailedMembers), a stream the server refused unread. Any other (a connection dropped with the
 * call in flight) may come after etcd carried the change out.
 */
const NEVER_SENT = /No connection established|passed over after an outage|Stream refused/;
