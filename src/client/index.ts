export { type ClientOptions, createClient, type HfiClient, type PutPolicyResult } from "./client.ts";
export { ApiError } from "./errors.ts";
export {
  hasApplied,
  laggards,
  type Propagation,
  type ProxyFilter,
  type WaitOptions,
  waitForPropagation,
} from "./propagation.ts";
