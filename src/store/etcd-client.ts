import type { IOptions } from "etcd3";
import { HfiError } from "../errors.ts";

/** etcd3 client settings for the store. */
export function clientOptions(endpoints: string[], requestTimeoutMs: number): IOptions {
  return {
    hosts: endpoints,
    dialTimeout: requestTimeoutMs,
    // Unary calls get a deadline, so an unreachable cluster fails a request instead of holding it.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + requestTimeoutMs }),
    grpcOptions: { "grpc.max_receive_message_length": -1, "grpc.use_local_subchannel_pool": 1 },
    faultHandling: { watchBackoff: backoff(100, 2000) },
  };
}

type Backoff = NonNullable<NonNullable<IOptions["faultHandling"]>["watchBackoff"]>;

/** Watch reconnects: doubling from `initialMs`, at most `maxMs`, so a recovered etcd is noticed soon. */
function backoff(initialMs: number, maxMs: number): Backoff {
  const step = (duration: number): Backoff => ({
    duration,
    next: () => step(Math.min(duration * 2, maxMs)),
  });
  return step(initialMs);
}

/** Any failure of the etcd client: the cluster could not be reached or did not answer in time. */
export function toHfiError(err: unknown): HfiError {
  const message = err instanceof Error ? err.message : String(err);
  if (message.includes("request is too large")) {
    return new HfiError("PayloadTooLarge", "the policy is larger than etcd accepts");
  }
  if (err instanceof Error && err.name === "BrokenCircuitError") {
    return new HfiError("Unavailable", "etcd unreachable: recent calls failed, retrying shortly");
  }
  const first = (message.split("\n")[0] ?? "").replace(/\s*Resolution note:.*$/, "");
  return new HfiError("Unavailable", `etcd unreachable: ${first}`);
}
