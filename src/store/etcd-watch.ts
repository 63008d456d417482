import type { ConsolaInstance } from "consola";
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from "etcd3";
import type { StoredPolicy, WatchEvent } from "./types.ts";

export interface PrefixWatchOptions {
  client: Etcd3;
  /** Every key under it is one policy. */
  prefix: string;
  /** A linearizable read of every key under the prefix, with the revision it was read at. */
  load(): Promise<{ kvs: IKeyValue[]; revision: number }>;
  decode(kv: IKeyValue): StoredPolicy;
  /** Called for every change, in revision order. */
  emit(event: WatchEvent): void;
  logger: Pick<ConsolaInstance, "info" | "warn" | "error">;
  /** Each disconnect, cancellation or failed resync, for metrics. */
  onError(err: unknown): void;
  /** Pause between resync attempts while etcd cannot be read. */
  retryMs?: number;
}

export interface PrefixWatch {
  /** The revision up to which every change has been emitted. */
  revision(): number;
  close(): Promise<void>;
}

/**
 * Watches a prefix and keeps a mirror of it, so that nothing is missed across outages:
 *
 * - after a disconnect, the watch resumes from the last revision it emitted (etcd3's client would
 *   resume from the last response header, which can run ahead of the events delivered so far);
 * - when etcd cancels the watch — typically because that revision was compacted meanwhile — it reads
 *   the prefix again, emits the difference from the mirror as events (puts at their mod revision,
 *   deletes at the read revision) and watches on from there.
 */
export async function startPrefixWatch(options: PrefixWatchOptions): Promise<PrefixWatch> {
  const { client, prefix, load, decode, emit, logger, onError, retryMs = 500 } = options;
  const mirror = new Map<string, StoredPolicy>();
  let last = 0;
  let watcher: Watcher | undefined;
  let disconnected = false;
  let closed = false;

  function apply(res: IWatchResponse): void {
    if (res.events.length === 0) {
      // A progress notification: every change up to the header revision has been sent.
      last = Math.max(last, Number(res.header.revision));
      return;
    }
    for (const event of res.events) {
      const revision = Number(event.kv.mod_revision);
      if (revision < last) continue;
      const key = event.kv.key.toString();
      try {
        if (event.type === "Put") {
          const policy = decode(event.kv);
          mirror.set(key, policy);
          emit({ type: "put", policy, revision });
        } else {
          const policy = mirror.get(key) ?? (event.prev_kv ? decode(event.prev_kv) : undefined);
          mirror.delete(key);
          if (policy) emit({ type: "delete", policy, revision });
        }
      } catch (err) {
        logger.error("skipping an unreadable policy key", { key }, err);
      }
      last = revision;
    }
  }

  async function open(from: number): Promise<void> {
    const next = await client.watch().prefix(prefix).withPreviousKV().startRevision(String(from)).create();
    if (closed) {
      await next.cancel();
      return;
    }
    watcher = next
      .on("data", apply)
      .on("disconnected", (err) => {
        // Pin the resume point to what was emitted; the client reconnects with backoff.
        next.request.start_revision = String(last + 1);
        if (!disconnected) logger.warn("etcd watch disconnected; resuming", { revision: last + 1 }, err);
        disconnected = true;
        onError(err);
      })
      .on("connected", () => {
        if (disconnected) logger.info("etcd watch resumed", { revision: last + 1 });
        disconnected = false;
      })
      .on("error", (err) => {
        logger.warn("etcd watch cancelled; resyncing", { revision: last + 1 }, err);
        onError(err);
        watcher = undefined;
        void resync();
      });
  }

  async function resync(): Promise<void> {
    while (!closed) {
      try {
        const { kvs, revision } = await load();
        const current = readAll(kvs);
        const events: WatchEvent[] = [];
        for (const [key, policy] of current) {
          const before = mirror.get(key)?.metadata.resourceVersion;
          if (before !== policy.metadata.resourceVersion) {
            events.push({ type: "put", policy, revision: Number(policy.metadata.resourceVersion) });
          }
        }
        events.sort((a, b) => a.revision - b.revision);
        for (const [key, policy] of mirror) {
          if (!current.has(key)) events.push({ type: "delete", policy, revision });
        }
        mirror.clear();
        for (const [key, policy] of current) mirror.set(key, policy);
        last = revision;
        for (const event of events) emit(event);
        logger.info("etcd watch resynced", { revision, changes: events.length });
        await open(revision + 1);
        return;
      } catch (err) {
        logger.error("etcd resync failed; retrying", err);
        onError(err);
        await Bun.sleep(retryMs);
      }
    }
  }

  /** Keys that do not hold a policy are logged and left out, rather than stopping the watch. */
  function readAll(kvs: IKeyValue[]): Map<string, StoredPolicy> {
    const policies = new Map<string, StoredPolicy>();
    for (const kv of kvs) {
      try {
        policies.set(kv.key.toString(), decode(kv));
      } catch (err) {
        logger.error("skipping an unreadable policy key", { key: kv.key.toString() }, err);
      }
    }
    return policies;
  }

  const initial = await load();
  for (const [key, policy] of readAll(initial.kvs)) mirror.set(key, policy);
  last = initial.revision;
  await open(last + 1);

  return {
    revision: () => last,
    async close() {
      closed = true;
      await watcher?.cancel();
    },
  };
}
