import type { Namespace } from "etcd3";
import type { Logger } from "../server/logger.ts";
import { etcdLayout } from "../store/etcd-codec.ts";
import type { PolicyStore, StoredPolicy } from "../store/index.ts";

export interface ExpirySweeperOptions {
  store: PolicyStore;
  /** Deletes the policy if it is still at `resourceVersion`; false when it was changed or gone meanwhile. */
  deleteIfUnchanged(name: string, resourceVersion: string): Promise<boolean>;
  logger: Logger;
  now?: () => number;
  /** Pause before trying again after the store could not be read. Default 1000. */
  retryMs?: number;
}

/**
 * The leader's expiry clean-up: deletes every policy whose `status.expiresAt` has come, at that
 * time, and again after every store change. Idempotent — each delete applies only to the version
 * it read, so two replicas sweeping at once delete a policy once, and never one written again
 * since. With etcd the policy's lease is only a backstop (for a fleet with no replica running):
 * etcd grants every lease its full TTL again when its own leader changes, so a lease alone can
 * keep a policy alive long past its expiry. Returns a function that stops the sweeper.
 */
export function startExpirySweeper(options: ExpirySweeperOptions): () => void {
  const { store, deleteIfUnchanged, logger, now = Date.now, retryMs = 1000 } = options;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let sweeping = false;
  let again = false;
  let stopped = false;

  function arm(ms: number): void {
    clearTimeout(timer);
    // Timers fire at most every ~24.8 days; a later expiry is looked at again then.
    timer = setTimeout(sweep, Math.min(Math.max(ms, 0), 2 ** 31 - 1));
  }

  async function sweep(): Promise<void> {
    if (stopped) return;
    if (sweeping) {
      again = true;
      return;
    }
    sweeping = true;
    try {
      const { items } = await store.list();
      const at = now();
      let next = Number.POSITIVE_INFINITY;
      for (const policy of items) {
        const expiresAt = expiryOf(policy);
        if (expiresAt === undefined) continue;
        if (expiresAt > at) next = Math.min(next, expiresAt);
        else if (await deleteIfUnchanged(policy.metadata.name, policy.metadata.resourceVersion)) {
          logger.info("policy expiry enforced by the leader", { policy: policy.metadata.name });
        }
      }
      if (!stopped && next !== Number.POSITIVE_INFINITY) arm(next - now());
    } catch (err) {
      logger.warn("expiry clean-up could not read the store; retrying", { error: String(err) });
      if (!stopped) arm(retryMs);
    } finally {
      sweeping = false;
      if (again && !stopped) {
        again = false;
        void sweep();
      }
    }
  }

  const unwatch = store.watch(() => sweep());
  void sweep();
  return () => {
    stopped = true;
    unwatch();
    clearTimeout(timer);
  };
}

function expiryOf(policy: StoredPolicy): number | undefined {
  const expiresAt = policy.status?.expiresAt;
  return expiresAt === undefined ? undefined : Date.parse(expiresAt);
}

/** The conditional delete for etcd: a transaction on the policy key's mod revision. */
export function etcdDeleteIfUnchanged(namespace: Namespace) {
  const layout = etcdLayout("");
  return async (name: string, resourceVersion: string): Promise<boolean> => {
    const key = layout.policyKey(name);
    const res = await namespace
      .if(key, "Mod", "==", resourceVersion)
      .then(namespace.delete().key(key))
      .commit();
    return res.succeeded;
  };
}
