import type { ConsolaInstance } from "consola";
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from "etcd3";

export interface KeyChange<T> {
  type: "put" | "delete";
  key: string;
  /** For "delete", the value as it was before deletion. */
  value: T;
  revision: number;
}

export interface RangeWatchOptions<T> {
  client: Etcd3;
  /** The watched keys: `start` ≤ key < `end`. */
  range: { start: Buffer; end: Buffer };
  /** A linearizable read of every key in the range, with the revision it was read at. */
  load(): Promise<{ kvs: IKeyValue[]; revision: number }>;
  /** The value a key holds; undefined for a key in the range that is not watched (it is skipped). */
  decode(kv: IKeyValue): T | undefined;
  /** Called for every change, in revision order. */
  emit(change: KeyChange<T>): void;
  logger: Pick<ConsolaInstance, "info" | "warn" | "error">;
  /** Each disconnect, cancellation or failed resync, for metrics. */
  onError(err: unknown): void;
  /** Pause between resync attempts while etcd cannot be read. */
  retryMs?: number;
}

export interface RangeWatch {
  /** The revision up to which every change has been emitted. */
  revision(): number;
  close(): Promise<void>;
}

interface Mirrored<T> {
  value: T;
  modRevision: number;
}

/**
 * Watches a key range and keeps a mirror of it, so that nothing is missed across outages:
 *
 * - after a disconnect, the watch resumes from the last revision it emitted (etcd3's client would
 *   resume from the last response header, which can run ahead of the events delivered so far);
 * - when etcd cancels the watch — typically because that revision was compacted meanwhile — it reads
 *   the range again, emits the difference from the mirror as changes (puts at their mod revision,
 *   deletes at the read revision) and watches on from there.
 */
export async function startRangeWatch<T>(options: RangeWatchOptions<T>): Promise<RangeWatch> {
  const { client, range, load, decode, emit, logger, onError, retryMs = 500 } = options;
  const mirror = new Map<string, Mirrored<T>>();
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
          const value = decode(event.kv);
          if (value !== undefined) {
            mirror.set(key, { value, modRevision: revision });
            emit({ type: "put", key, value, revision });
          }
        } else {
          const value = mirror.get(key)?.value ?? (event.prev_kv ? decode(event.prev_kv) : undefined);
          mirror.delete(key);
          if (value !== undefined) emit({ type: "delete", key, value, revision });
        }
      } catch (err) {
        logger.error("skipping an unreadable etcd key", { key, error: firstLine(err) });
      }
      last = revision;
    }
  }

  async function open(from: number): Promise<void> {
    const next = await client.watch().inRange(range).withPreviousKV().startRevision(String(from)).create();
    if (closed) {
      await next.cancel();
      return;
    }
    watcher = next
      .on("data", apply)
      .on("disconnected", (err) => {
        // Pin the resume point to what was emitted; the client reconnects with backoff.
        next.request.start_revision = String(last + 1);
        if (!disconnected) {
          logger.warn("etcd watch disconnected; resuming", { revision: last + 1, error: firstLine(err) });
        }
        disconnected = true;
        onError(err);
      })
      .on("connected", () => {
        if (disconnected) logger.info("etcd watch resumed", { revision: last + 1 });
        disconnected = false;
      })
      .on("error", (err) => {
        logger.warn("etcd watch cancelled; resyncing", { revision: last + 1, error: firstLine(err) });
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
        const changes: KeyChange<T>[] = [];
        for (const [key, { value, modRevision }] of current) {
          if (mirror.get(key)?.modRevision !== modRevision) {
            changes.push({ type: "put", key, value, revision: modRevision });
          }
        }
        changes.sort((a, b) => a.revision - b.revision);
        for (const [key, { value }] of mirror) {
          if (!current.has(key)) changes.push({ type: "delete", key, value, revision });
        }
        mirror.clear();
        for (const [key, entry] of current) mirror.set(key, entry);
        last = revision;
        for (const change of changes) emit(change);
        logger.info("etcd watch resynced", { revision, changes: changes.length });
        await open(revision + 1);
        return;
      } catch (err) {
        logger.error("etcd resync failed; retrying", { error: firstLine(err) });
        onError(err);
        await Bun.sleep(retryMs);
      }
    }
  }

  /** Keys that do not decode are logged and left out, rather than stopping the watch. */
  function readAll(kvs: IKeyValue[]): Map<string, Mirrored<T>> {
    const entries = new Map<string, Mirrored<T>>();
    for (const kv of kvs) {
      try {
        const value = decode(kv);
        if (value !== undefined)
          entries.set(kv.key.toString(), { value, modRevision: Number(kv.mod_revision) });
      } catch (err) {
        logger.error("skipping an unreadable etcd key", { key: kv.key.toString(), error: firstLine(err) });
      }
    }
    return entries;
  }

  const initial = await load();
  for (const [key, entry] of readAll(initial.kvs)) mirror.set(key, entry);
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

/**
 * What went wrong, in one line: an outage is expected and reported as it happens, so its stack
 * trace (and gRPC's multi-line detail) would only bury the log.
 */
function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return (message.split("\n")[0] ?? "").replace(/\s*Resolution note:.*$/, "");
}
