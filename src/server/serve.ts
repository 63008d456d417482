import { createDistributor } from "../distributor/index.ts";
import { createMemoryStore, HfiError, type PolicyStore } from "../store/index.ts";
import { createApp } from "./app.ts";
import { createLogger, type Logger } from "./logger.ts";

export interface ServerOptions {
  /** `host:port`, `[ipv6]:port` or `:port`; port 0 picks a free one. Default `0.0.0.0:8080`. */
  listen?: string;
  /** Default: a new memory store. */
  store?: PolicyStore;
  /** Default: JSON lines on stdout. */
  logger?: Logger;
  heartbeatMs?: number;
}

export interface RunningServer {
  /** Base URL for clients, e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
  /** Stops listening, closes open streams and long-polls, and stops watching the store. */
  stop(): Promise<void>;
}

/** Runs the control plane on Bun.serve. */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger();
  const store =
    options.store ??
    createMemoryStore({ onWatcherError: (err) => logger.error("policy watch listener failed", err) });
  const { hostname, port } = parseListen(options.listen ?? "0.0.0.0:8080");
  const distributor = await createDistributor(store, { logger });
  const app = createApp({ store, distributor, logger, heartbeatMs: options.heartbeatMs });
  let server: Bun.Server<undefined>;
  try {
    // The default idleTimeout (10 s) stays for ordinary requests; held ones extend their own (connection.ts).
    server = Bun.serve({ hostname, port, fetch: app.fetch });
  } catch (err) {
    distributor.close();
    throw err;
  }
  const url = `http://${clientHost(hostname)}:${server.port}`;
  logger.info("control plane listening", { url, listen: `${hostname}:${server.port}` });
  return {
    url,
    port: server.port ?? port,
    async stop() {
      await server.stop(true);
      distributor.close();
    },
  };
}

/** Splits `host:port`; a bare `:port` listens on every IPv4 interface. */
export function parseListen(listen: string): { hostname: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(listen);
  const port = Number(match?.[3]);
  if (!match || port > 65_535) {
    throw new HfiError(
      "InvalidInput",
      `invalid listen address "${listen}": expected host:port, [ipv6]:port or :port`,
    );
  }
  return { hostname: match[1] ?? (match[2] || "0.0.0.0"), port };
}

/** A wildcard address is not something to connect to; loopback reaches the same server. */
function clientHost(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::") return "[::1]";
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}
