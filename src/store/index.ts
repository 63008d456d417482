export { type ErrorCode, HfiError, isHfiError } from "../errors.ts";
export { type StoreClock, systemClock } from "./clock.ts";
export {
  connectKubernetes,
  openStore,
  type PolicyPropagation,
  type PropagationOf,
  type StoreConfig,
  type StoreHooks,
} from "./config.ts";
export type { EtcdStoreOptions } from "./etcd.ts";
export { describeHalt } from "./lifecycle.ts";
export { createMemoryStore, type MemoryStoreOptions } from "./memory.ts";
export {
  byNamespaceAndName,
  DEFAULT_NAMESPACE,
  resolveNamespace,
  SINGLE_NAMESPACE,
  type StoreNamespaces,
} from "./namespaces.ts";
export type {
  Halt,
  HaltEvent,
  HaltRequest,
  PolicyEvent,
  PolicyList,
  PolicyStore,
  PutResult,
  StoredPolicy,
  StoreElection,
  StoreState,
  Unsubscribe,
  WatchEvent,
  WatchListener,
} from "./types.ts";
