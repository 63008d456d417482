/**
 * gRPC status codes an abort may answer with (`spec.fault.abort.grpcStatus`), by name as gRPC spells
 * them, and the HTTP status Envoy answers a request that is not gRPC with (its grpcToHttpStatus).
 * OK (0) is left out: it is no fault.
 */
export const GRPC_STATUS_CODES = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusName = keyof typeof GRPC_STATUS_CODES;
export const GRPC_STATUS_NAMES = Object.keys(GRPC_STATUS_CODES) as GrpcStatusName[];
export const MIN_GRPC_STATUS = 1;
export const MAX_GRPC_STATUS = 16;

const HTTP_STATUS_BY_CODE: Record<number, number> = {
  1: 499,
  2: 500,
  3: 400,
  4: 504,
  5: 404,
  6: 409,
  7: 403,
  8: 429,
  9: 400,
  10: 409,
  11: 400,
  12: 501,
  13: 500,
  14: 503,
  15: 500,
  16: 401,
};

/** The code of a grpcStatus as written (a name or a number), or undefined when it is neither. */
export function grpcStatusCode(value: unknown): number | undefined {
  if (typeof value === "string")
    return Object.hasOwn(GRPC_STATUS_CODES, value) ? GRPC_STATUS_CODES[value as GrpcStatusName] : undefined;
  if (
    typeof value === "number" &&
    Number.isInteger(value) &&
    value >= MIN_GRPC_STATUS &&
    value <= MAX_GRPC_STATUS
  )
    return value;
  return undefined;
}

/** What Envoy sends a client that did not speak gRPC, for a gRPC status code (as Envoy maps it). */
export function httpStatusOfGrpc(code: number): number {
  return HTTP_STATUS_BY_CODE[code] ?? 500;
}
