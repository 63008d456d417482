export {
  type ConfigSnapshot,
  createDistributor,
  type Distributor,
  type DistributorOptions,
  type Held,
  holds,
  type SnapshotListener,
} from "./distributor.ts";
export {
  ANONYMOUS_PROXY,
  type Applied,
  appliedRevision,
  createSubscriberRegistry,
  type ProxyIdentity,
  type Subscriber,
  type SubscriberId,
  type SubscriberRegistry,
  type SubscriberRegistryOptions,
} from "./subscribers.ts";
