import type { Lease, Namespace } from "etcd3";
import type { Logger } from "../server/logger.ts";
import { toHfiError } from "../store/etcd-client.ts";
import { batchedWrites } from "./batched-writes.ts";

export interface LeasedKeyOptions {
  namespace: Namespace;
  key: string;
  /** The value as it is now; written only when it differs from the last one written. */
  value: () => string;
  /** TTL of the lease the key is bound to: the key goes this long after its replica dies. */
  ttlSeconds: number;
  logger: Logger;
  /** What the key holds, for log lines ("proxy status"). */
  what: string;
  /** Fewest milliseconds between two writes. Default 1000. */
  minIntervalMs?: number;
  /** How long a change waits for more before it is written. Default 20. */
  gatherMs?: number;
}

/** A replica's key in etcd, bound to a lease of its own. */
export interface LeasedKey {
  /** Writes the value soon: after `gatherMs`, and at most once per `minIntervalMs`. */
  schedule(): void;
  /** Stops writing and revokes the lease, which deletes the key at once. */
  close(): Promise<void>;
}

/**
 * Publishes what one replica knows under a key bound to its own lease, batched (at most one write
 * per `minIntervalMs`, and only when the value changed). The value is also re-checked every
 * `minIntervalMs`, so a change nobody scheduled is written too; when the replica dies its lease
 * expires and the key with it. Resolves after the first write was tried.
 */
export async function publishLeasedKey(options: LeasedKeyOptions): Promise<LeasedKey> {
  const { namespace, key, value, ttlSeconds, logger, what, minIntervalMs = 1000, gatherMs = 20 } = options;
  let lease: Lease | undefined;
  let written: string | undefined;
  let closed = false;
  /** Logged once per outage, not once a second. */
  let failing = false;

  /** The lease the key is written under; a new one after the last was lost. */
  function currentLease(): Lease {
    if (lease) return lease;
    const next = namespace.lease(ttlSeconds);
    next.on("lost", (err) => {
      if (closed || lease !== next) return;
      logger.warn(`${what} lease lost; publishing under a new one`, { error: String(err) });
      lease = undefined;
      written = undefined;
      writes.schedule();
    });
    lease = next;
    return next;
  }

  async function publish(): Promise<void> {
    const next = value();
    if (next === written) return;
    writes.started();
    try {
      await currentLease().put(key).value(next);
      written = next;
      if (failing) logger.info(`publishing ${what} again`);
      failing = false;
    } catch (err) {
      if (!failing) logger.warn(`publishing ${what} failed; retrying`, { error: toHfiError(err).message });
      failing = true;
      writes.schedule();
    }
  }

  const writes = batchedWrites(publish, { minIntervalMs, gatherMs });
  await publish();
  return {
    schedule: writes.schedule,
    async close() {
      closed = true;
      await writes.close();
      await lease?.revoke().catch(() => {});
    },
  };
}
