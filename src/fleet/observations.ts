import { randomBytes } from "node:crypto";
import type { Namespace } from "etcd3";
import {
  type ObservationLedger,
  type PeerTotals,
  type PolicyObservation,
  withPeerTotals,
} from "../observations/index.ts";
import type { Logger } from "../server/logger.ts";
import { toHfiError } from "../store/etcd-client.ts";
import { publishLeasedKey } from "./leased-key.ts";

/** Sorts after the store's `policies/`, so the store's watch never sees these keys. */
const PREFIX = "replica-observations/";
/** Policies a replica publishes: its most recently reported ones, so that its key stays small. */
export const MAX_PUBLISHED_POLICIES = 512;
/** Replicas gone whose last totals still count; past it the longest gone are forgotten. */
const MAX_DEPARTED = 64;

export interface EtcdObservationsOptions {
  /** The namespace of the store's prefix; each replica's totals live at `replica-observations/<name>/<run>`. */
  namespace: Namespace;
  replica: string;
  /** The reports posted to this replica. */
  ledger: ObservationLedger;
  /** TTL of the lease the replica's key is bound to. */
  ttlSeconds: number;
  logger: Logger;
  /** At most one write of this replica's totals per interval, and one read of the others'. Default 1000. */
  intervalMs?: number;
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
 * a key bound to its own lease (leased-key.ts: at most one write per interval, only when they
 * changed) and reads the others' once per interval. A replica whose key went (it stopped, or its
 * lease expired) keeps counting with the totals last read from it, so that sums never go back: an
 * experiment's figures are differences of sums.
 */
export async function startEtcdObservations(options: EtcdObservationsOptions): Promise<FleetObservations> {
  const { namespace, replica, ledger, ttlSeconds, logger, intervalMs = 1000 } = options;
  const run = randomBytes(6).toString("hex");
  const live = new Map<string, Map<string, PolicyObservation>>();
  const departed = new Map<string, Map<string, PolicyObservation>>();
  /** Logged once per outage, not once a second. */
  let failing = false;
  let reading: Promise<void> | undefined;

  async function read(): Promise<void> {
    let values: Record<string, string>;
    try {
      values = await namespace.getAll().prefix(PREFIX).strings();
    } catch (err) {
      if (!failing)
        logger.warn("reading the other replicas' observations failed; retrying", {
          error: toHfiError(err).message,
        });
      failing = true;
      return;
    }
    if (failing) logger.info("reading the other replicas' observations again");
    failing = false;
    const seen = new Set<string>();
    for (const value of Object.values(values)) {
      const published = parse(value);
      if (!published || (published.replica === replica && published.run === run)) continue;
      const id = `${published.replica}/${published.run}`;
      seen.add(id);
      live.set(id, new Map(published.policies.map((o) => [o.name, o])));
      departed.delete(id);
    }
    for (const [id, totals] of live) {
      if (seen.has(id)) continue;
      live.delete(id);
      departed.set(id, totals);
      for (const oldest of departed.keys()) {
        if (departed.size <= MAX_DEPARTED) break;
        departed.delete(oldest);
      }
    }
  }

  const readLater = () => {
    reading ??= read().finally(() => {
      reading = undefined;
    });
  };
  const ownKey = await publishLeasedKey({
    namespace,
    key: `${PREFIX}${replica}/${run}`,
    value: () => JSON.stringify({ replica, run, policies: recentTotals(ledger) } satisfies Published),
    ttlSeconds,
    logger,
    what: "observations",
    minIntervalMs: intervalMs,
  });
  const unsubscribe = ledger.onChange(ownKey.schedule);
  await read();
  const tick = setInterval(readLater, intervalMs);
  const peers: PeerTotals = () => [...live.values(), ...departed.values()];
  return {
    ledger: withPeerTotals(ledger, peers),
    async close() {
      clearInterval(tick);
      unsubscribe();
      await reading;
      await ownKey.close();
    },
  };
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
