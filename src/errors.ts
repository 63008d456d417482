import type { FieldIssue } from "./policy/index.ts";

/**
 * The stable error codes, each with the HTTP status the API answers it with (src/server/errors.ts)
 * and the CLI's exit code (`exitCodeOf`; kubectl exits 1 on every error, and so does hfi — a future
 * distinction is made here). Clients read `code`, never the message.
 */
export const ERROR_CODES = {
  InvalidInput: { status: 400, exitCode: 1 },
  /** No valid credentials were presented (the server requires a bearer token). */
  Unauthenticated: { status: 401, exitCode: 1 },
  /** The credentials are valid but do not allow this request (a reader token on a write). */
  Forbidden: { status: 403, exitCode: 1 },
  NotFound: { status: 404, exitCode: 1 },
  /** The path exists, the method does not; the answer's `Allow` header lists those that do. */
  MethodNotAllowed: { status: 405, exitCode: 1 },
  AlreadyExists: { status: 409, exitCode: 1 },
  Conflict: { status: 409, exitCode: 1 },
  PayloadTooLarge: { status: 413, exitCode: 1 },
  UnsupportedMediaType: { status: 415, exitCode: 1 },
  /** Changes are refused while the fleet is halted (`hfi halt`); `hfi resume` lifts it. */
  Locked: { status: 423, exitCode: 1 },
  Internal: { status: 500, exitCode: 1 },
  /** A dependency such as the store's backend cannot be reached; retrying later may succeed. */
  Unavailable: { status: 503, exitCode: 1 },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}

/**
 * The code an answer without an error body means, by its status; undefined for a status no code has.
 * A 409 is a Conflict: AlreadyExists only ever comes from a store, with its body.
 */
export function errorCodeForStatus(status: number): ErrorCode | undefined {
  if (status === ERROR_CODES.Conflict.status) return "Conflict";
  return ERROR_CODE_NAMES.find((code) => ERROR_CODES[code].status === status);
}

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
