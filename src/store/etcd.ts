import { isDeepStrictEqual } from "node:util";
import { type ConsolaInstance, consola } from "consola";
import {
  CompareResult,
  CompareTarget,
  Etcd3,
  type ICompare,
  type IKeyValue,
  type IResponseHeader,
  type IResponseOp,
} from "etcd3";
import { HfiError, isHfiError } from "../errors.ts";
import type { Policy } from "../policy/index.ts";
import { clientOptions, isOutage, toHfiError } from "./etcd-client.ts";
import { decodeHalt, type Entry, encodeHalt, etcdLayout, type StoredValue } from "./etcd-codec.ts";
import { type KeyChange, startRangeWatch } from "./etcd-watch.ts";
import { createWatchFanOut } from "./fan-out.ts";
import { durationMs, hasExpired, lockedError, newHalt, staleVersionError } from "./lifecycle.ts";
import { DEFAULT_NAMESPACE, resolveNamespace, SINGLE_NAMESPACE } from "./namespaces.ts";
import { createOutageBreaker } from "./outage-breaker.ts";
import type { Halt, PolicyStore, StoredPolicy, StoreState, WatchEvent } from "./types.ts";

export interface EtcdStoreOptions {
  /** Client URLs of the cluster's members, e.g. `http://127.0.0.1:2379`. */
  endpoints: string[];
  /** Keys are `<prefix>policies/<name>` and `<prefix>halt`. Default `hfi/`. */
  prefix?: string;
  /**
   * Deadline of each etcd call; past it the operation fails with Unavailable. Default 5000. Calls
   * are never retried (a late answer may be to a change etcd carried out), and after 3 outages in a
   * row calls fail at once for this long.
   */
  requestTimeoutMs?: number;
  /** Clock for `creationTimestamp`, `status.expiresAt` and the halt's `since`. */
  now?: () => Date;
  logger?: Pick<ConsolaInstance, "info" | "warn" | "error">;
  /** Receives whatever a watch listener throws. */
  onWatcherError?: (err: unknown) => void;
  /** Every failed etcd call and watch interruption, by operation; for metrics. */
  onError?: (operation: string, err: unknown) => void;
}

const MAX_CAS_ATTEMPTS = 10;
const MAY_HAVE_WRITTEN = "the policy may have been written: get it to see";
/** Longest that watch events wait for writes of this client in flight. */
const HOLD_MS = 100;

/**
 * Policies and the halt in etcd, shared by any number of `hfi serve` replicas. Revisions are etcd
 * revisions: a list is at the response header's revision, a policy's resourceVersion is its key's
 * mod revision. A policy with a duration is bound to a lease of that TTL, so etcd deletes it and
 * every replica sees the delete through its watch, whether or not any replica is running then.
 * Fails with Unavailable when etcd cannot be reached, including at creation (the initial read).
 */
export async function createEtcdStore(options: EtcdStoreOptions): Promise<PolicyStore> {
  const { endpoints, prefix = "hfi/", requestTimeoutMs = 5000, logger = consola } = options;
  const now = options.now ?? (() => new Date());
  const watchers = createWatchFanOut(
    options.onWatcherError ?? ((err) => logger.error("policy watch listener failed", err)),
  );
  const onError = options.onError ?? (() => {});
  const layout = etcdLayout(prefix);
  const client = new Etcd3(clientOptions(endpoints, requestTimeoutMs));
  const breaker = createOutageBreaker({ isOutage, openMs: requestTimeoutMs });
  /** The write in progress per policy name: this client's writes to one name go one at a time. */
  const writesByName = new Map<string, Promise<void>>();
  const { kv, leaseClient } = client;
  /** The newest revision this client has seen; a new listener hears only of later changes. */
  let seen = 0;
  const held: WatchEvent[] = [];
  let writing = 0;
  let holdTimer: ReturnType<typeof setTimeout> | undefined;

  /** Holds only while no halt key exists. */
  const notHalted: ICompare = {
    key: layout.haltKey,
    target: CompareTarget.Create,
    result: CompareResult.Equal,
    create_revision: 0,
  };

  function observe(header: IResponseHeader): number {
    const revision = Number(header.revision);
    seen = Math.max(seen, revision);
    return revision;
  }

  /** One store operation; `mayHaveHappened` is what a change whose answer came too late may have done. */
  async function call<T>(operation: string, run: () => Promise<T>, mayHaveHappened?: string): Promise<T> {
    try {
      return await breaker.run(run);
    } catch (err) {
      if (isHfiError(err)) throw err;
      onError(operation, err);
      throw toHfiError(err, mayHaveHappened);
    }
  }

  /**
   * Runs `write` after this client's earlier writes to `name`: concurrent unconditional writes to
   * one name then all succeed (the last one wins) instead of losing compare-and-swap races to each
   * other; races with other replicas are still retried (MAX_CAS_ATTEMPTS). A write that waits its
   * turn longer than a call's deadline (etcd is slow to answer the ones before it) gives up, so that
   * it too is answered in time.
   */
  function oneAtATime<T>(name: string, write: () => Promise<T>): Promise<T> {
    const before = writesByName.get(name) ?? Promise.resolve();
    const next = turnAfter(before).then(write);
    const tail = Promise.allSettled([before, next]).then(() => {});
    writesByName.set(name, tail);
    void tail.then(() => {
      if (writesByName.get(name) === tail) writesByName.delete(name);
    });
    return next;
  }

  async function turnAfter(before: Promise<void>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tooLong = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new HfiError("Unavailable", "etcd is slow to answer earlier writes to this policy; try again"),
          ),
        requestTimeoutMs,
      );
    });
    try {
      await Promise.race([before, tooLong]);
    } finally {
      clearTimeout(timer);
    }
  }

  function encode(
    policy: Policy,
    previous: StoredPolicy | undefined,
    specChanged: boolean,
    expiresAt: string | undefined,
  ): { json: Buffer; value: StoredValue } {
    const { status: _ignored, ...rest } = policy;
    const value: StoredValue = {
      ...rest,
      metadata: {
        name: policy.metadata.name,
        creationTimestamp: previous?.metadata.creationTimestamp ?? now().toISOString(),
        generation: previous ? previous.metadata.generation + (specChanged ? 1 : 0) : 1,
      },
      ...(expiresAt !== undefined && { status: { expiresAt } }),
    };
    return { json: Buffer.from(JSON.stringify(value)), value };
  }

  function stored(value: StoredValue, revision: number): StoredPolicy {
    const { name, creationTimestamp, generation } = value.metadata;
    const copy = structuredClone(value);
    const metadata = { name, namespace: DEFAULT_NAMESPACE, creationTimestamp, generation };
    return { ...copy, metadata: { ...metadata, resourceVersion: String(revision) } };
  }

  function decodePolicyAt(entry: IKeyValue): StoredPolicy {
    const decoded = layout.decode(entry);
    if (decoded?.kind !== "policy") throw new HfiError("Internal", `etcd key ${entry.key} is not a policy`);
    return decoded.policy;
  }

  /** The policy key and the halt key, as two range responses of one transaction. */
  function pairOf(responses: IResponseOp[]): { current?: IKeyValue; halt?: Halt } {
    const current = responses[0]?.response_range?.kvs[0];
    const haltKv = responses[1]?.response_range?.kvs[0];
    return { current, halt: haltKv && decodeHalt(haltKv) };
  }

  const readPair = (key: Buffer) => [{ request_range: { key } }, { request_range: { key: layout.haltKey } }];

  async function load(): Promise<{ kvs: IKeyValue[]; revision: number }> {
    const res = await kv.range({ key: layout.range.start, range_end: layout.range.end });
    return { kvs: res.kvs, revision: observe(res.header) };
  }

  async function readState(): Promise<StoreState> {
    const { kvs, revision } = await load();
    const items: StoredPolicy[] = [];
    let halt: Halt | undefined;
    for (const entry of kvs) {
      const decoded = layout.decode(entry);
      if (decoded?.kind === "policy") items.push(decoded.policy);
      else if (decoded?.kind === "halt") halt = decoded.halt;
    }
    items.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
    return { items, revision, halt };
  }

  /** A lease for a policy's duration: etcd deletes the key when it runs out. */
  async function grantLease(ms: number): Promise<string> {
    const res = await leaseClient.leaseGrant({ TTL: Math.ceil(ms / 1000), ID: 0 });
    return String(res.ID);
  }

  /** Best effort: a lease no key uses any more would expire by itself anyway. */
  function revokeLease(id: string | undefined): void {
    if (id === undefined || id === "0") return;
    leaseClient.leaseRevoke({ ID: id }).catch(() => {});
  }

  /**
   * Events wait while this client's own writes are in flight (at most HOLD_MS), so that, as with
   * the memory store, a writer resumes before any listener hears of its change.
   */
  function emit(change: KeyChange<Entry>): void {
    const event = toEvent(change);
    seen = Math.max(seen, event.revision);
    held.push(event);
    if (writing === 0) flush();
    else holdTimer ??= setTimeout(flush, HOLD_MS);
  }

  function toEvent({ type, value, revision }: KeyChange<Entry>): WatchEvent {
    if (value.kind === "halt")
      return { type: type === "put" ? "halt" : "resume", halt: value.halt, revision };
    const { policy } = value;
    // etcd does not say why a key went; a policy whose expiry has come went because of its lease.
    const expired = type === "delete" && hasExpired(policy, now().getTime());
    return { type, policy, revision, ...(expired && { reason: "expired" as const }) };
  }

  function flush(): void {
    clearTimeout(holdTimer);
    holdTimer = undefined;
    for (const event of held.splice(0)) watchers.deliver(event);
  }

  async function write<T>(operation: string, run: () => Promise<T>, mayHaveHappened: string): Promise<T> {
    writing += 1;
    try {
      return await call(operation, run, mayHaveHappened);
    } finally {
      writing -= 1;
      if (writing === 0) flush();
    }
  }

  /** Puts `policy` if the key is still as `current` and no halt exists; retries on a lost race. */
  async function put(
    policy: Policy,
    first: { current?: IKeyValue; halt?: Halt },
    onlyCreate: boolean,
  ): Promise<{ policy: StoredPolicy; created: boolean }> {
    const { name, resourceVersion } = policy.metadata;
    const key = layout.policyKey(name);
    const lifetime = durationMs(policy);
    const wanted = JSON.parse(JSON.stringify(policy.spec)) as Policy["spec"];
    let { current, halt } = first;
    let lease: string | undefined;
    try {
      for (let attempt = 1; ; attempt++) {
        if (halt) throw lockedError(halt);
        const previous = current && decodePolicyAt(current);
        if (onlyCreate && previous) throw new HfiError("AlreadyExists", `policy "${name}" already exists`);
        const stale = staleVersionError(name, resourceVersion, previous);
        if (stale) throw stale;
        const specChanged = !previous || !isDeepStrictEqual(previous.spec, wanted);
        if (previous && !specChanged && lifetime === undefined) return { policy: previous, created: false };
        let expiresAt: string | undefined;
        if (lifetime !== undefined) {
          lease ??= await grantLease(lifetime);
          expiresAt = new Date(now().getTime() + lifetime).toISOString();
        }
        const { json, value } = encode(policy, previous, specChanged, expiresAt);
        // Create and update are one transaction: it applies only if the key is as read and no halt exists.
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
            notHalted,
          ],
          success: [{ request_put: { key, value: json, ...(lease && { lease }) } }],
          failure: readPair(key),
        });
        if (res.succeeded) {
          if (current?.lease !== lease) revokeLease(current?.lease);
          lease = undefined;
          return { policy: stored(value, observe(res.header)), created: !previous };
        }
        if (attempt === MAX_CAS_ATTEMPTS) {
          throw new HfiError("Conflict", `policy "${name}" is being changed concurrently; try again`);
        }
        ({ current, halt } = pairOf(res.responses));
      }
    } finally {
      revokeLease(lease);
    }
  }

  const watch = await call("watch", () =>
    startRangeWatch<Entry>({
      client,
      range: layout.range,
      load,
      decode: layout.decode,
      emit,
      logger,
      onError: (err) => onError("watch", err),
    }),
  ).catch((err) => {
    client.close();
    throw err;
  });

  return {
    namespaces: SINGLE_NAMESPACE,

    create: (policy) =>
      oneAtATime(policy.metadata.name, () =>
        write(
          "create",
          async () => {
            resolveNamespace(SINGLE_NAMESPACE, policy.metadata.namespace, "metadata.namespace");
            if (policy.metadata.resourceVersion !== undefined) {
              throw new HfiError("InvalidInput", "resourceVersion must not be set when creating", [
                { path: "metadata.resourceVersion", message: "must not be set when creating" },
              ]);
            }
            const first = await kv.txn({ success: readPair(layout.policyKey(policy.metadata.name)) });
            observe(first.header);
            return (await put(policy, pairOf(first.responses), true)).policy;
          },
          MAY_HAVE_WRITTEN,
        ),
      ),

    createOrUpdate: (policy) =>
      oneAtATime(policy.metadata.name, () =>
        write(
          "createOrUpdate",
          async () => {
            resolveNamespace(SINGLE_NAMESPACE, policy.metadata.namespace, "metadata.namespace");
            const first = await kv.txn({ success: readPair(layout.policyKey(policy.metadata.name)) });
            observe(first.header);
            return put(policy, pairOf(first.responses), false);
          },
          MAY_HAVE_WRITTEN,
        ),
      ),

    get: (name, namespace) =>
      call("get", async () => {
        resolveNamespace(SINGLE_NAMESPACE, namespace);
        const res = await kv.range({ key: layout.policyKey(name) });
        observe(res.header);
        const entry = res.kvs[0];
        if (!entry) throw new HfiError("NotFound", `policy "${name}" not found`);
        return decodePolicyAt(entry);
      }),

    delete: (name, namespace) =>
      write(
        "delete",
        async () => {
          resolveNamespace(SINGLE_NAMESPACE, namespace);
          const res = await kv.deleteRange({ key: layout.policyKey(name), prev_kv: true });
          observe(res.header);
          const entry = res.prev_kvs[0];
          if (!entry) throw new HfiError("NotFound", `policy "${name}" not found`);
          revokeLease(entry.lease);
          return decodePolicyAt(entry);
        },
        `the policy "${name}" may have been deleted: get it to see`,
      ),

    list: () =>
      call("list", async () => {
        const { items, revision } = await readState();
        return { items, revision };
      }),

    state: () => call("state", readState),

    getHalt: () =>
      call("getHalt", async () => {
        const res = await kv.range({ key: layout.haltKey });
        observe(res.header);
        const entry = res.kvs[0];
        return entry && decodeHalt(entry);
      }),

    halt: (request) =>
      write(
        "halt",
        async () => {
          const halt = newHalt(request, now(), 0);
          const res = await kv.txn({
            compare: [notHalted],
            success: [{ request_put: { key: layout.haltKey, value: encodeHalt(halt) } }],
            failure: [{ request_range: { key: layout.haltKey } }],
          });
          const revision = observe(res.header);
          if (res.succeeded) return { halt: { ...halt, revision }, created: true };
          const existing = res.responses[0]?.response_range?.kvs[0];
          if (!existing) throw new HfiError("Conflict", "the halt is being changed concurrently; try again");
          return { halt: decodeHalt(existing), created: false };
        },
        "the halt may have taken effect: `hfi status` to see",
      ),

    resume: () =>
      write(
        "resume",
        async () => {
          const res = await kv.deleteRange({ key: layout.haltKey, prev_kv: true });
          const revision = observe(res.header);
          const entry = res.prev_kvs[0];
          return entry && { lifted: decodeHalt(entry), revision };
        },
        "the halt may have been lifted: `hfi status` to see",
      ),

    // A new listener hears only of changes after what this client has seen.
    watch: (listener) => watchers.add(listener, Math.max(seen, watch.revision())),

    ping: () =>
      call("ping", async () => {
        // A linearizable read: it needs a leader and a quorum, not just a live member.
        observe((await kv.range({ key: layout.haltKey, count_only: true })).header);
      }),

    async close() {
      watchers.clear();
      clearTimeout(holdTimer);
      await watch.close().catch(() => {});
      client.close();
    },
  };
}
