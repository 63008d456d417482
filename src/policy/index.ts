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
export { type FieldIssue, fieldPath, toFieldIssues } from "./issues.ts";
export { decodeJson } from "./json.ts";
export {
  DEFAULT_BODY_MATCH_BYTES,
  MAX_ABORT_BODY_BYTES,
  MAX_BODY_MATCH_BYTES,
  MAX_HEADER_CONDITIONS,
  MAX_NAME_LENGTH,
  MAX_SELECTOR_LABELS,
  NamespaceNameSchema,
  POLICY_API_VERSION,
  POLICY_KIND,
  POLICY_MODES,
  type Policy,
  type PolicyInput,
  type PolicyMode,
  PolicyNameSchema,
  PolicySchema,
  type PolicySpec,
} from "./schema.ts";
export {
  describeSelector,
  NO_IDENTITY,
  type Selector,
  selects,
  type WorkloadIdentity,
} from "./selector.ts";
export { jsonBytesExceed, MAX_POLICY_BYTES } from "./size.ts";
export { findIllFormedString, ILL_FORMED_MESSAGE, maxCharacters } from "./unicode.ts";
