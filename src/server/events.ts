import type { PolicyStore, Unsubscribe } from "../store/index.ts";
import type { Logger } from "./logger.ts";

/**
 * Logs what happens in the store without a request: a policy whose duration ran out. With etcd every
 * replica sees the delete through its watch, so each logs it once.
 */
export function logStoreEvents(store: PolicyStore, logger: Logger): Unsubscribe {
  return store.watch((event) => {
    if (event.type !== "delete" || event.reason !== "expired") return;
    logger.info("policy expired", {
      policy: event.policy.metadata.name,
      reason: "expired",
      revision: event.revision,
      expiresAt: event.policy.status?.expiresAt,
    });
  });
}
