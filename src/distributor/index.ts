export {
  type ConfigSnapshot,
  createDistributor,
  type Distributor,
  type DistributorOptions,
  type SnapshotListener,
} from "./distributor.ts";
export {
  createSubscriberRegistry,
  type Subscriber,
  type SubscriberId,
  type SubscriberRegistry,
  type SubscriberRegistryOptions,
} from "./subscribers.ts";
