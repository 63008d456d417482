import { Etcd3 } from "etcd3";
import { clientOptions } from "../store/etcd-client.ts";
import { etcdDeleteIfUnchanged, startExpirySweeper } from "./expiry.ts";
import type { EtcdFleetOptions, Fleet } from "./index.ts";
import { startEtcdLeadership } from "./leadership.ts";
import { startEtcdObservations } from "./observations.ts";
import { startEtcdProxyDirectory } from "./proxies.ts";

/** Deadline of each etcd call the fleet makes. */
const REQUEST_TIMEOUT_MS = 5000;

export async function startEtcdFleet(options: EtcdFleetOptions): Promise<Fleet> {
  const { endpoints, prefix, replica, leaseTtlSeconds, store, subscribers, ledger, logger } = options;
  const client = new Etcd3(clientOptions(endpoints, REQUEST_TIMEOUT_MS));
  const namespace = client.namespace(prefix);
  try {
    const proxies = await startEtcdProxyDirectory({
      namespace,
      replica,
      subscribers,
      ttlSeconds: leaseTtlSeconds,
      logger,
    });
    const observations = await startEtcdObservations({
      client,
      prefix,
      replica,
      ledger,
      ttlSeconds: leaseTtlSeconds,
      logger,
    });
    const leadership = await startEtcdLeadership({ namespace, replica, ttlSeconds: leaseTtlSeconds, logger });
    let stopSweeper: (() => void) | undefined;
    const stopDuties = leadership.onChange((leading) => {
      stopSweeper?.();
      stopSweeper = leading
        ? startExpirySweeper({ store, deleteIfUnchanged: etcdDeleteIfUnchanged(namespace), logger })
        : undefined;
    });
    return {
      leadership,
      proxies,
      observations: observations.ledger,
      observationsCover: "fleet",
      async close() {
        stopDuties();
        stopSweeper?.();
        await Promise.all([leadership.close(), proxies.close(), observations.close()]);
        client.close();
      },
    };
  } catch (err) {
    client.close();
    throw err;
  }
}
