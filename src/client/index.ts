export type {
  ExperimentList,
  ExperimentSpec,
  ObservationsList,
  PolicyObservationView,
} from "../api-types.ts";
export type { Experiment, ExperimentResults, ExperimentState, PhaseResult } from "../experiments/index.ts";
export {
  type ClientOptions,
  createClient,
  type HfiClient,
  type ListPoliciesOptions,
  type PutPolicyResult,
} from "./client.ts";
export { ApiError } from "./errors.ts";
export {
  hasApplied,
  laggards,
  type Propagation,
  type ProxyFilter,
  type WaitOptions,
  waitForPropagation,
} from "./propagation.ts";
