export { MAX_REPORT_POLICIES, Reporter } from "./reporter";
export { LATENCY_BOUNDS_MS, MAX_STATUS_CODES, NO_RESPONSE, PolicyStats } from "./stats";
