export {
  type ConfigSnapshot,
  createDistributor,
  type Distributor,
  type DistributorOptions,
  type SnapshotListener,
} from "./distributor.ts";
