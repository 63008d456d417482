import type { FieldIssue } from "./policy/index.ts";

/**
 * Stable error codes of the control plane. The API maps them to HTTP statuses in one place
 * (src/server/errors.ts) and the CLI to exit codes in one place; both read `code`, never the message.
 */
export type ErrorCode =
  | "NotFound"
  /** The path exists, the method does not; the answer's `Allow` header lists those that do. */
  | "MethodNotAllowed"
  | "AlreadyExists"
  | "Conflict"
  | "InvalidInput"
  | "PayloadTooLarge"
  | "UnsupportedMediaType"
  /** Changes are refused while the fleet is halted (`hfi halt`); `hfi resume` lifts it. */
  | "Locked"
  /** No valid credentials were presented (the server requires a bearer token). */
  | "Unauthenticated"
  /** The credentials are valid but do not allow this request (a reader token on a write). */
  | "Forbidden"
  /** A dependency such as the store's backend cannot be reached; retrying later may succeed. */
  | "Unavailable"
  | "Internal";

/** The one domain error type: thrown by stores and services, never by pure code. */
export class HfiError extends Error {
  override readonly name = "HfiError";
  readonly code: ErrorCode;
  /** Per-field problems, for InvalidInput. */
  readonly details: FieldIssue[];

  constructor(code: ErrorCode, message: string, details: FieldIssue[] = []) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

export function isHfiError(err: unknown): err is HfiError {
  return err instanceof HfiError;
}
