import type { Context, ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ERROR_CODES, errorCodeForStatus, HfiError, isHfiError } from "../errors.ts";
import type { Logger } from "./logger.ts";

/**
 * `{"error":{"code","message","details":[{"path","message"}]}}` with the status of its code: the one
 * place where domain errors become HTTP answers.
 */
export function errorResponse(c: Context, err: HfiError): Response {
  const { code, message, details } = err;
  const headers: Record<string, string> =
    code === "Unavailable" ? { "Retry-After": RETRY_AFTER_SECONDS } : {};
  return c.json({ error: { code, message, details } }, ERROR_CODES[code].status, headers);
}

/** When to try an Unavailable request again: a store call's deadline, and how long its breaker stays open. */
const RETRY_AFTER_SECONDS = "5";

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
  const code = errorCodeForStatus(err.status);
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
