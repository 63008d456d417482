export {
  type DocumentFormat,
  documentFormat,
  type PolicyParseResult,
  parsePolicyDocument,
  validatePolicy,
} from "./document.ts";
export {
  type DurationResult,
  MAX_DELAY_MS,
  MAX_POLICY_DURATION_MS,
  MIN_DELAY_MS,
  MIN_POLICY_DURATION_MS,
  parseDelay,
  parseGoDurationMs,
  parsePolicyDuration,
} from "./duration.ts";
export { GRPC_STATUS_CODES, grpcStatusCode, httpStatusOfGrpc } from "./grpc-status.ts";
export { type FieldIssue, toFieldIssues } from "./issues.ts";
export {
  MAX_ABORT_BODY_BYTES,
  MAX_HEADER_CONDITIONS,
  POLICY_API_VERSION,
  POLICY_KIND,
  POLICY_MODES,
  type Policy,
  type PolicyInput,
  type PolicyMode,
  PolicySchema,
  type PolicySpec,
} from "./schema.ts";
