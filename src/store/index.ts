export { type ErrorCode, HfiError, isHfiError } from "../errors.ts";
export { createEtcdStore, type EtcdStore, type EtcdStoreOptions } from "./etcd.ts";
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
