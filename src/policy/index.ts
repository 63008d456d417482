export {
  type DocumentFormat,
  documentFormat,
  type PolicyParseResult,
  parsePolicyDocument,
  validatePolicy,
} from "./document.ts";
export { type DurationResult, MAX_DELAY_MS, MIN_DELAY_MS, parseDelay } from "./duration.ts";
export { type FieldIssue, toFieldIssues } from "./issues.ts";
export {
  MAX_ABORT_BODY_BYTES,
  MAX_HEADER_CONDITIONS,
  POLICY_API_VERSION,
  POLICY_KIND,
  type Policy,
  type PolicyInput,
  PolicySchema,
  type PolicySpec,
} from "./schema.ts";
