import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import type { Listener, ListenOptions } from "./listener.ts";

/**
 * Serves `fetch` with node:http through @hono/node-server. Node's defaults suit the API: no idle
 * timeout on a response in progress (held long-polls and SSE streams stay open), a request must
 * arrive within 300 s.
 */
export async function listenNode({ hostname, port, fetch }: ListenOptions): Promise<Listener> {
  // The handler gets node-server's bindings ({ incoming, outgoing }) where Bun would pass its server.
  const server = createAdaptorServer({
    fetch: (request, env) => fetch(request, env as never),
    // Left as they are: replacing the global Request/Response breaks Bun.serve in the same process.
    overrideGlobalObjects: false,
    hostname,
    port,
  }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  let closed: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    // Like Bun's server.stop: may be called again, with closeActive, to cut what is still open.
    stop(closeActive = false) {
      closed ??= new Promise<void>((resolve, reject) =>
        server.close((err) => (err ? reject(err) : resolve())),
      );
      if (closeActive) server.closeAllConnections();
      else server.closeIdleConnections();
      return closed;
    },
  };
}
