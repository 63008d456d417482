import { randomBytes } from "node:crypto";
import type { Etcd3 } from "etcd3";
import {
  type ObservationLedger,
  type PeerTotals,
  type PolicyObservation,
  withPeerTotals,
} from "../observations/index.ts";
import type { Logger } from "../server/logger.ts";
import { prefixEnd } from "../store/etcd-codec.ts";
import { startRangeWatch } from "../store/etcd-watch.ts";
import { publishLeasedKey } from "./leased-key.ts";

/** Sorts after the store's `policies/`, so the store's watch never sees these keys. */
const PREFIX = "replica-observations/";
/** Policies a replica publishes: its most recently reported ones, so that its key stays small. */
const MAX_PUBLISHED_POLICIES = 512;
/** Replicas gone whose last totals still count; past it the longest gone are forgotten. */
const MAX_DEPARTED = 64;

export interface EtcdObservationsOptions {
  client: Etcd3;
  /** The store's key prefix; each replica's totals live at `<prefix>replica-observations/<name>/<run>`. */
  prefix: string;
  replica: string;
  /** The reports posted to this replica. */
  ledger: ObservationLedger;
  /** TTL of the lease the replica's key is bound to. */
  ttlSeconds: number;
  logger: Logger;
  /** Fewest milliseconds between two writes of this replica's totals. Default 1000. */
  minIntervalMs?: number;
}

/** What the filters observed, fleet-wide. */
export interface FleetObservations {
  /** Reports count here; reads are the sum over every replica. */
  readonly ledger: ObservationLedger;
  /** Withdraws this replica's key (its totals keep counting at the others, as a departed replica's). */
  close(): Promise<void>;
}

/** What a replica's key holds. `run` tells a restarted replica of the same name from its past self. */
interface Published {
  replica: string;
  run: string;
  policies: PolicyObservation[];
}

/**
 * Each replica publishes its totals (the sums of the reports posted to it since it started) under
 * a key bound to its own lease (leased-key.ts: at most one write per `minIntervalMs`, only when
 * they changed) and watches the others' (the store's range watch: nothing missed across etcd
 * outages). A replica whose key went (it stopped, or its lease expired) keeps counting with its
 * last totals, so that sums never go back: an experiment's figures are differences of sums.
 */
export async function startEtcdObservations(options: EtcdObservationsOptions): Promise<FleetObservations> {
  const { client, prefix, replica, ledger, ttlSeconds, logger, minIntervalMs } = options;
  const run = randomBytes(6).toString("hex");
  const base = prefix + PREFIX;
  const own = `${replica}/${run}`;
  /** Other replicas' totals by `<name>/<run>`: those whose key is there, and those whose key went. */
  const live = new Map<string, Map<string, PolicyObservation>>();
  const departed = new Map<string, Map<string, PolicyObservation>>();

  const idOf = (key: string) => key.slice(base.length);
  function put(id: string, published: Published): void {
    if (id === own) return;
    live.set(id, new Map(published.policies.map((o) => [o.name, o])));
    departed.delete(id);
  }
  function gone(id: string): void {
    const totals = live.get(id);
    if (!totals) return;
    live.delete(id);
    departed.set(id, totals);
    for (const oldest of departed.keys()) {
      if (departed.size <= MAX_DEPARTED) break;
      departed.delete(oldest);
    }
  }

  const range = { start: Buffer.from(base), end: prefixEnd(base) };
  let started = false;
  const watch = await startRangeWatch<Published>({
    client,
    range,
    async load() {
      const res = await client.kv.range({ key: range.start, range_end: range.end });
      // The first read is where the watch starts from; later ones (resyncs) come back as changes.
      if (!started) {
        for (const kv of res.kvs) {
          const published = parse(kv.value.toString());
          if (published) put(idOf(kv.key.toString()), published);
        }
        started = true;
      }
      return { kvs: res.kvs, revision: Number(res.header.revision) };
    },
    decode: (kv) => parse(kv.value.toString()),
    emit: (change) => (change.type === "put" ? put(idOf(change.key), change.value) : gone(idOf(change.key))),
    logger,
    // The watch logs its interruptions; the fleet keeps no metrics of its own.
    onError: () => {},
  });
  try {
    const ownKey = await publishLeasedKey({
      namespace: client.namespace(prefix),
      key: PREFIX + own,
      value: () => JSON.stringify({ replica, run, policies: recentTotals(ledger) } satisfies Published),
      ttlSeconds,
      logger,
      what: "observations",
      minIntervalMs,
    });
    const unsubscribe = ledger.onChange(ownKey.schedule);
    const peers: PeerTotals = () => [...live.values(), ...departed.values()];
    return {
      ledger: withPeerTotals(ledger, peers),
      async close() {
        unsubscribe();
        await Promise.all([ownKey.close(), watch.close()]);
      },
    };
  } catch (err) {
    await watch.close();
    throw err;
  }
}

/** The totals of the policies reported most recently, at most MAX_PUBLISHED_POLICIES. */
function recentTotals(ledger: ObservationLedger): PolicyObservation[] {
  const all = ledger.list();
  if (all.length <= MAX_PUBLISHED_POLICIES) return all;
  return all.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)).slice(0, MAX_PUBLISHED_POLICIES);
}

function parse(value: string): Published | undefined {
  try {
    const published = JSON.parse(value) as Published;
    return typeof published.replica === "string" && Array.isArray(published.policies) ? published : undefined;
  } catch {
    return undefined;
  }
}
