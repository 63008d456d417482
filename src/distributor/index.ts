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
  type Applied,
  appliedRevision,
  createSubscriberRegistry,
  type Subscriber,
  type SubscriberId,
  type SubscriberRegistry,
  type SubscriberRegistryOptions,
} from "./subscribers.ts";
