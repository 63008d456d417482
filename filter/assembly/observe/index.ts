export { MAX_REPORT_POLICIES, Reporter } from "./reporter";
export {
  ABORTS,
  DELAYS,
  DRY_RUN,
  MATCHED,
  MAX_STATUS_CODES,
  NO_RESPONSE,
  PolicyStats,
  statusCode,
} from "./stats";
