import type { EtcdStore, EtcdStoreOptions } from "./etcd.ts";

export { type ErrorCode, HfiError, isHfiError } from "../errors.ts";
export type { EtcdStore, EtcdStoreOptions } from "./etcd.ts";
export { createMemoryStore, type MemoryStoreOptions } from "./memory.ts";
export type {
  PolicyList,
  PolicyStore,
  PutResult,
  StoredPolicy,
  Unsubscribe,
  WatchEvent,
  WatchListener,
} from "./types.ts";

/** etcd.ts is loaded on first use: importing etcd3 reads its .proto files, which nothing else needs. */
export async function createEtcdStore(options: EtcdStoreOptions): Promise<EtcdStore> {
  return (await import("./etcd.ts")).createEtcdStore(options);
}
