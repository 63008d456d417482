import type { Listener, ListenOptions } from "./listener.ts";

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
