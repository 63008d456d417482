import * as v from "valibot";
import { type FieldIssue, toFieldIssues } from "./issues.ts";
import { decodeJson } from "./json.ts";
import { type Policy, PolicySchema } from "./schema.ts";
import { jsonBytesExceed, MAX_POLICY_BYTES } from "./size.ts";
import { findIllFormedString, ILL_FORMED_MESSAGE } from "./unicode.ts";
import { decodeYaml } from "./yaml.ts";

export type DocumentFormat = "json" | "yaml";

/** Failure codes are the domain error codes the API answers with (400, 413 and 415). */
export type PolicyParseResult =
  | { success: true; output: Policy }
  | {
      success: false;
      code: "InvalidInput" | "PayloadTooLarge" | "UnsupportedMediaType";
      message: string;
      issues: FieldIssue[];
    };

const JSON_MEDIA_TYPE = /^application\/(?:[\w.-]+\+)?json$/;
const YAML_MEDIA_TYPE = /^(?:application|text)\/(?:x-)?yaml$|^application\/[\w.-]+\+yaml$/;

/** The document format named by a Content-Type header, parameters such as charset ignored. */
export function documentFormat(contentType: string | undefined): DocumentFormat | undefined {
  const mediaType = contentType?.split(";")[0]?.trim().toLowerCase() ?? "";
  if (JSON_MEDIA_TYPE.test(mediaType)) return "json";
  if (YAML_MEDIA_TYPE.test(mediaType)) return "yaml";
  return undefined;
}

/** Parses and validates one policy sent as JSON or YAML; issues come back as data, never thrown. */
export function parsePolicyDocument(text: string, contentType: string | undefined): PolicyParseResult {
  const format = documentFormat(contentType);
  if (format === undefined) {
    return {
      success: false,
      code: "UnsupportedMediaType",
      message: `unsupported Content-Type ${JSON.stringify(contentType ?? "")}: send application/json or application/yaml`,
      issues: [],
    };
  }
  const decoded = format === "json" ? decodeJson(text) : decodeYaml(text);
  if ("error" in decoded)
    return invalid("malformed document", [{ path: decoded.path, message: decoded.error }]);
  // YAML aliases can repeat one large value many times: the size that counts is the expanded one.
  if (format === "yaml" && jsonBytesExceed(decoded.value, MAX_POLICY_BYTES)) {
    return {
      success: false,
      code: "PayloadTooLarge",
      message: `the document exceeds ${MAX_POLICY_BYTES} bytes once its YAML aliases are expanded`,
      issues: [],
    };
  }
  return validatePolicy(decoded.value);
}

/** Validates an already decoded value against PolicySchema. */
export function validatePolicy(value: unknown): PolicyParseResult {
  const illFormed = findIllFormedString(value);
  if (illFormed !== undefined)
    return invalid("invalid policy", [{ path: illFormed, message: ILL_FORMED_MESSAGE }]);
  const result = v.safeParse(PolicySchema, value);
  if (result.success) return { success: true, output: result.output };
  return invalid("invalid policy", toFieldIssues(result.issues));
}

/** The message names the first issue, so a terse client (curl) still shows what is wrong. */
function invalid(what: string, issues: FieldIssue[]): PolicyParseResult {
  const [first] = issues;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  const message = first ? `${what}: ${first.path ? `${first.path}: ` : ""}${first.message}${more}` : what;
  return { success: false, code: "InvalidInput", message, issues };
}
