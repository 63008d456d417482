import type { EtcdStoreOptions } from "./etcd.ts";
import type { PolicyStore } from "./types.ts";

export { type ErrorCode, HfiError, isHfiError } from "../errors.ts";
export { type StoreClock, systemClock } from "./clock.ts";
export { openStore, type StoreConfig, type StoreHooks } from "./config.ts";
export type { EtcdStoreOptions } from "./etcd.ts";
export { describeHalt } from "./lifecycle.ts";
export { createMemoryStore, type MemoryStoreOptions } from "./memory.ts";
export type {
  Halt,
  HaltEvent,
  HaltRequest,
  PolicyEvent,
  PolicyList,
  PolicyStore,
  PutResult,
  StoredPolicy,
  StoreState,
  Unsubscribe,
  WatchEvent,
  WatchListener,
} from "./types.ts";

/** etcd.ts is loaded on first use: importing etcd3 reads its .proto files, which nothing else needs. */
export async function createEtcdStore(options: EtcdStoreOptions): Promise<PolicyStore> {
  return (await import("./etcd.ts")).createEtcdStore(options);
}
