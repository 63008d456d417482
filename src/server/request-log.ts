import type { MiddlewareHandler } from "hono";
import { remoteAddress } from "./connection.ts";
import type { Logger } from "./logger.ts";

/** Probes run every few seconds; at debug level they stay out of the way. */
const QUIET_PATHS = new Set(["/healthz", "/readyz"]);

/** One log line per request, written when the response (or the start of a stream) is ready. */
export function requestLog(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const fields = {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      latency_ms: Math.round((performance.now() - started) * 10) / 10,
      remote: remoteAddress(c),
    };
    if (QUIET_PATHS.has(c.req.path)) logger.debug("request", fields);
    else logger.info("request", fields);
  };
}
