import type { ConsolaInstance } from "consola";
import type { StoreClock } from "./clock.ts";
import { createMemoryStore } from "./memory.ts";
import type { PolicyStore } from "./types.ts";

/** Where `hfi serve` keeps policies: `hfi serve --store …` and its flags, as one value. */
export type StoreConfig =
  | {
      type: "memory";
      /** Default: the system clock. Tests give one that runs behind, or moves by hand. */
      clock?: StoreClock;
    }
  | {
      type: "etcd";
      /** Client URLs of the cluster's members. */
      endpoints: string[];
      /** Key prefix; default `hfi/`. */
      prefix?: string;
      /** Deadline of each etcd call; past it the request is answered 503. Default 5000. */
      requestTimeoutMs?: number;
    };

/** What the server gives every store it opens. */
export interface StoreHooks {
  logger: Pick<ConsolaInstance, "info" | "warn" | "error">;
  /** Receives whatever a watch listener throws. */
  onWatcherError: (err: unknown) => void;
  /** Every failed backend call, by operation; for metrics. */
  onError: (operation: string, err: unknown) => void;
}

/**
 * Opens the store `config` names; the caller closes it. etcd.ts is loaded only when used: importing
 * etcd3 reads its .proto files, which nothing else needs.
 */
export async function openStore(config: StoreConfig, hooks: StoreHooks): Promise<PolicyStore> {
  switch (config.type) {
    case "memory":
      return createMemoryStore({ clock: config.clock, onWatcherError: hooks.onWatcherError });
    case "etcd": {
      const { type: _type, ...options } = config;
      const { createEtcdStore } = await import("./etcd.ts");
      return createEtcdStore({ ...options, ...hooks });
    }
  }
}
