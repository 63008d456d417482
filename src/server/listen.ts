/** A listening HTTP server, whichever runtime runs it. */
export interface Listener {
  port: number;
  /** Stops listening; `closeActive` also ends open requests (long-polls, SSE streams). */
  stop(closeActive?: boolean): Promise<void>;
}

export interface ListenOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** A fetch handler such as Hono's `app.fetch`; its second argument is the runtime's server or bindings. */
  fetch: (request: Request, env: never) => Response | Promise<Response>;
}

/**
 * Bun.serve under Bun (the compiled binary, `bun src/cli/main.ts`); @hono/node-server under Node.js
 * (`npx hfi`, dist/hfi.mjs). Fails, like Bun.serve, when the address cannot be bound.
 */
export async function listen(options: ListenOptions): Promise<Listener> {
  if (typeof Bun === "undefined") {
    const { listenNode } = await import("./listen-node.ts");
    return listenNode(options);
  }
  const server = Bun.serve({ hostname: options.hostname, port: options.port, fetch: options.fetch });
  return {
    port: server.port ?? options.port,
    stop: (closeActive = false) => server.stop(closeActive),
  };
}
