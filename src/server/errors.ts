import type { Context, ErrorHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type ErrorCode, HfiError, isHfiError } from "../errors.ts";
import type { Logger } from "./logger.ts";

/** The one place where domain error codes become HTTP statuses. */
const HTTP_STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  InvalidInput: 400,
  Unauthenticated: 401,
  Forbidden: 403,
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  Internal: 500,
  Unavailable: 503,
};

/** `{"error":{"code","message","details":[{"path","message"}]}}` with the status of its code. */
export function errorResponse(c: Context, err: HfiError): Response {
  const { code, message, details } = err;
  return c.json({ error: { code, message, details } }, HTTP_STATUS[code]);
}

/** Domain errors answer as themselves; anything else is logged in full and answered without detail. */
export function handleErrors(logger: Logger): ErrorHandler {
  return (err, c) => {
    if (isHfiError(err)) return errorResponse(c, err);
    logger.error("unhandled error", { method: c.req.method, path: c.req.path }, err);
    return errorResponse(c, new HfiError("Internal", "internal server error"));
  };
}
