import { isDeepStrictEqual } from "node:util";
import { type ConsolaInstance, consola } from "consola";
import { CompareResult, CompareTarget, Etcd3, type IKeyValue, type IResponseHeader } from "etcd3";
import { HfiError, isHfiError } from "../errors.ts";
import type { Policy } from "../policy/index.ts";
import { clientOptions, prefixEnd, toHfiError } from "./etcd-client.ts";
import { startPrefixWatch } from "./etcd-watch.ts";
import type { PolicyStore, StoredPolicy, WatchEvent, WatchListener } from "./types.ts";

export interface EtcdStoreOptions {
  /** Client URLs of the cluster's members, e.g. `http://127.0.0.1:2379`. */
  endpoints: string[];
  /** Keys are `<prefix>policies/<name>`. Default `hfi/`. */
  prefix?: string;
  /** Deadline of each etcd call; past it the operation fails with Unavailable. Default 5000. */
  requestTimeoutMs?: number;
  /** Clock for `creationTimestamp`. */
  now?: () => Date;
  logger?: Pick<ConsolaInstance, "info" | "warn" | "error">;
  /** Receives whatever a watch listener throws. */
  onWatcherError?: (err: unknown) => void;
  /** Every failed etcd call and watch interruption, by operation; for metrics. */
  onError?: (operation: string, err: unknown) => void;
}

/** A PolicyStore that holds an etcd client, to be closed when done. */
export interface EtcdStore extends PolicyStore {
  close(): Promise<void>;
}

/** What a key's value holds: the policy without its resourceVersion, which is the key's mod revision. */
type StoredValue = Policy & { metadata: { name: string; creationTimestamp: string; generation: number } };

const MAX_CAS_ATTEMPTS = 10;
/** Longest that watch events wait for writes of this client in flight. */
const HOLD_MS = 100;

/**
 * Policies in etcd, shared by any number of `hfi serve` replicas. Revisions are etcd revisions:
 * a list is at the response header's revision, a policy's resourceVersion is its key's mod revision.
 * Fails with Unavailable when etcd cannot be reached, including at creation (the initial read).
 */
export async function createEtcdStore(options: EtcdStoreOptions): Promise<EtcdStore> {
  const { endpoints, prefix = "hfi/", requestTimeoutMs = 5000, logger = consola } = options;
  const now = options.now ?? (() => new Date());
  const onWatcherError =
    options.onWatcherError ?? ((err) => logger.error("policy watch listener failed", err));
  const onError = options.onError ?? (() => {});
  const keyPrefix = `${prefix}policies/`;
  const client = new Etcd3(clientOptions(endpoints, requestTimeoutMs));
  const kv = client.kv;
  const listeners = new Map<WatchListener, number>();
  /** The newest revision this client has seen; a new listener hears only of later changes. */
  let seen = 0;
  const held: WatchEvent[] = [];
  let writing = 0;
  let holdTimer: ReturnType<typeof setTimeout> | undefined;

  const keyOf = (name: string) => Buffer.from(keyPrefix + name);

  function observe(header: IResponseHeader): number {
    const revision = Number(header.revision);
    seen = Math.max(seen, revision);
    return revision;
  }

  async function call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (isHfiError(err)) throw err;
      onError(operation, err);
      throw toHfiError(err);
    }
  }

  function decode(entry: IKeyValue): StoredPolicy {
    const name = entry.key.toString().slice(keyPrefix.length);
    let value: StoredValue;
    try {
      value = JSON.parse(entry.value.toString()) as StoredValue;
    } catch {
      throw new HfiError("Internal", `etcd key ${entry.key.toString()} does not hold a policy`);
    }
    const { creationTimestamp, generation } = value.metadata;
    return {
      ...value,
      metadata: { name, creationTimestamp, resourceVersion: entry.mod_revision, generation },
    };
  }

  function encode(policy: Policy, previous: StoredPolicy | undefined): { json: Buffer; value: StoredValue } {
    const value: StoredValue = {
      ...policy,
      metadata: {
        name: policy.metadata.name,
        creationTimestamp: previous?.metadata.creationTimestamp ?? now().toISOString(),
        generation: previous ? previous.metadata.generation + 1 : 1,
      },
    };
    return { json: Buffer.from(JSON.stringify(value)), value };
  }

  function stored(value: StoredValue, revision: number): StoredPolicy {
    const { name, creationTimestamp, generation } = value.metadata;
    const copy = structuredClone(value);
    return { ...copy, metadata: { name, creationTimestamp, resourceVersion: String(revision), generation } };
  }

  async function load(): Promise<{ kvs: IKeyValue[]; revision: number }> {
    const res = await kv.range({ key: Buffer.from(keyPrefix), range_end: prefixEnd(keyPrefix) });
    return { kvs: res.kvs, revision: observe(res.header) };
  }

  /**
   * Events wait while this client's own writes are in flight (at most HOLD_MS), so that, as with
   * the memory store, a writer resumes before any listener hears of its change.
   */
  function emit(event: WatchEvent): void {
    seen = Math.max(seen, event.revision);
    held.push(event);
    if (writing === 0) flush();
    else holdTimer ??= setTimeout(flush, HOLD_MS);
  }

  function flush(): void {
    clearTimeout(holdTimer);
    holdTimer = undefined;
    for (const event of held.splice(0)) deliver(event);
  }

  function deliver(event: WatchEvent): void {
    for (const [listener, since] of listeners) {
      if (event.revision <= since) continue;
      // A macrotask per listener, in order; each gets its own copy to keep.
      const copy = structuredClone(event);
      setImmediate(() => {
        if (!listeners.has(listener)) return;
        Promise.resolve()
          .then(() => listener(copy))
          .catch(onWatcherError);
      });
    }
  }

  async function write<T>(operation: string, run: () => Promise<T>): Promise<T> {
    writing += 1;
    try {
      return await call(operation, run);
    } finally {
      writing -= 1;
      if (writing === 0) flush();
    }
  }

  const watch = await call("watch", () =>
    startPrefixWatch({
      client,
      prefix: keyPrefix,
      load,
      decode,
      emit,
      logger,
      onError: (err) => onError("watch", err),
    }),
  ).catch((err) => {
    client.close();
    throw err;
  });

  return {
    create: (policy) =>
      write("create", async () => {
        if (policy.metadata.resourceVersion !== undefined) {
          throw new HfiError("InvalidInput", "resourceVersion must not be set when creating", [
            { path: "metadata.resourceVersion", message: "must not be set when creating" },
          ]);
        }
        const key = keyOf(policy.metadata.name);
        const { json, value } = encode(policy, undefined);
        const res = await kv.txn({
          compare: [{ key, target: CompareTarget.Create, result: CompareResult.Equal, create_revision: 0 }],
          success: [{ request_put: { key, value: json } }],
        });
        if (!res.succeeded) {
          throw new HfiError("AlreadyExists", `policy "${policy.metadata.name}" already exists`);
        }
        return stored(value, observe(res.header));
      }),

    createOrUpdate: (policy) =>
      write("createOrUpdate", async () => {
        const { name, resourceVersion } = policy.metadata;
        const key = keyOf(name);
        const wanted = JSON.parse(JSON.stringify(policy.spec)) as Policy["spec"];
        const read = await kv.range({ key });
        observe(read.header);
        let current = read.kvs[0];
        for (let attempt = 1; ; attempt++) {
          const previous = current && decode(current);
          if (resourceVersion !== undefined && resourceVersion !== previous?.metadata.resourceVersion) {
            const found = previous
              ? `it is at resourceVersion ${previous.metadata.resourceVersion}`
              : "it does not exist";
            throw new HfiError(
              "Conflict",
              `policy "${name}" was changed since resourceVersion ${resourceVersion}: ${found}`,
            );
          }
          if (previous && isDeepStrictEqual(previous.spec, wanted))
            return { policy: previous, created: false };
          const { json, value } = encode(policy, previous);
          // Create and update are one transaction: it applies only if the key is as read above.
          const res = await kv.txn({
            compare: [
              current
                ? {
                    key,
                    target: CompareTarget.Mod,
                    result: CompareResult.Equal,
                    mod_revision: current.mod_revision,
                  }
                : { key, target: CompareTarget.Create, result: CompareResult.Equal, create_revision: 0 },
            ],
            success: [{ request_put: { key, value: json } }],
            failure: [{ request_range: { key } }],
          });
          if (res.succeeded) return { policy: stored(value, observe(res.header)), created: !previous };
          if (attempt === MAX_CAS_ATTEMPTS) {
            throw new HfiError("Conflict", `policy "${name}" is being changed concurrently; try again`);
          }
          current = res.responses[0]?.response_range.kvs[0];
        }
      }),

    get: (name) =>
      call("get", async () => {
        const res = await kv.range({ key: keyOf(name) });
        observe(res.header);
        const entry = res.kvs[0];
        if (!entry) throw new HfiError("NotFound", `policy "${name}" not found`);
        return decode(entry);
      }),

    delete: (name) =>
      write("delete", async () => {
        const res = await kv.deleteRange({ key: keyOf(name), prev_kv: true });
        observe(res.header);
        const entry = res.prev_kvs[0];
        if (!entry) throw new HfiError("NotFound", `policy "${name}" not found`);
        return decode(entry);
      }),

    list: () =>
      call("list", async () => {
        const { kvs, revision } = await load();
        const items = kvs.map(decode).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
        return { items, revision };
      }),

    watch(listener) {
      // Wrapped so that watching twice with the same function gives two independent subscriptions.
      const subscription: WatchListener = (event) => listener(event);
      listeners.set(subscription, Math.max(seen, watch.revision()));
      return () => {
        listeners.delete(subscription);
      };
    },

    ping: () =>
      call("ping", async () => {
        // A linearizable read: it needs a leader and a quorum, not just a live member.
        observe((await kv.range({ key: Buffer.from(keyPrefix), count_only: true })).header);
      }),

    async close() {
      listeners.clear();
      clearTimeout(holdTimer);
      await watch.close().catch(() => {});
      client.close();
    },
  };
}
