import type { Context, ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type ErrorCode, HfiError, isHfiError } from "../errors.ts";
import type { Logger } from "./logger.ts";

/** The one place where domain error codes become HTTP statuses. */
const HTTP_STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  InvalidInput: 400,
  Unauthenticated: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  AlreadyExists: 409,
  Conflict: 409,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  Locked: 423,
  Internal: 500,
  Unavailable: 503,
};

/** A generic 409 from middleware is a Conflict; AlreadyExists only ever comes from a store. */
const CODE_BY_STATUS = new Map<number, ErrorCode>(
  Object.entries(HTTP_STATUS)
    .filter(([code]) => code !== "AlreadyExists")
    .map(([code, status]) => [status, code as ErrorCode]),
);

/** `{"error":{"code","message","details":[{"path","message"}]}}` with the status of its code. */
export function errorResponse(c: Context, err: HfiError): Response {
  const { code, message, details } = err;
  return c.json({ error: { code, message, details } }, HTTP_STATUS[code]);
}

/**
 * Domain errors answer as themselves. A 4xx HTTPException (Hono middleware throws them) answers in
 * the same shape when its status has a code, keeping the headers it set (WWW-Authenticate), and as
 * itself otherwise. Anything else is logged in full and answered without detail: no stack, no cause.
 */
export function handleErrors(logger: Logger): ErrorHandler {
  return (err, c) => {
    if (isHfiError(err)) return errorResponse(c, err);
    if (err instanceof HTTPException && err.status < 500) return fromHttpException(c, err);
    logger.error("unhandled error", { method: c.req.method, path: c.req.path }, err);
    return errorResponse(c, new HfiError("Internal", "internal server error"));
  };
}

function fromHttpException(c: Context, err: HTTPException): Response {
  const code = CODE_BY_STATUS.get(err.status);
  if (code === undefined) return err.getResponse();
  const res = errorResponse(
    c,
    new HfiError(code, err.message || `request refused with status ${err.status}`),
  );
  err.res?.headers.forEach((value, name) => {
    if (name !== "content-type" && name !== "content-length") res.headers.set(name, value);
  });
  return res;
}
