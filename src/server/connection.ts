import type { Server } from "bun";
import type { Context } from "hono";

type BunServer = Pick<Server<unknown>, "timeout" | "requestIP">;

/** Under Bun.serve, Hono receives the Bun server as `c.env`; under app.request() there is none. */
function bunServer(c: Context): BunServer | undefined {
  const env = c.env as Partial<BunServer> | undefined;
  return typeof env?.timeout === "function" ? (env as BunServer) : undefined;
}

/**
 * Bun closes a connection after `idleTimeout` seconds (default 10) without traffic, even while
 * its handler is still working; held long-polls and quiet SSE streams raise it for their own
 * request. The value stays with the connection until its next request, so 0 (never) is kept
 * for streams that end with the connection.
 */
export function holdOpen(c: Context, seconds: number): void {
  bunServer(c)?.timeout(c.req.raw, seconds);
}

export function remoteAddress(c: Context): string | undefined {
  return bunServer(c)?.requestIP(c.req.raw)?.address;
}
