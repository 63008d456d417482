import { defineCommand } from "citty";
import {
  createLogger,
  LOG_LEVELS,
  type LogFormat,
  type LogLevelName,
  startServer,
} from "../../server/index.ts";
import type { StoreConfig } from "../../store/index.ts";
import { parseDuration } from "../common/duration.ts";
import { CommandError } from "../common/errors.ts";

export default defineCommand({
  meta: { name: "serve", description: "Run the control plane (policy API + config distribution)" },
  args: {
    listen: { type: "string", description: "Address to listen on (host:port)", default: "0.0.0.0:8080" },
    store: {
      type: "enum",
      options: ["memory", "etcd"],
      default: "memory",
      description: "Where policies live: memory (one process, lost on exit) or etcd (shared by replicas)",
    },
    "etcd-endpoints": {
      type: "string",
      valueHint: "urls",
      default: "http://127.0.0.1:2379",
      description: "Comma-separated etcd client URLs, with --store etcd",
    },
    "etcd-prefix": {
      type: "string",
      default: "hfi/",
      description: "etcd key prefix; policies live at <prefix>policies/<name>",
    },
    "lease-ttl": {
      type: "string",
      valueHint: "duration",
      default: "10s",
      description:
        "With --store etcd: TTL of each replica's etcd lease (whole seconds); a dead leader is replaced, and a dead replica's proxies leave hfi status, this long after it stopped",
    },
    "log-format": { type: "enum", options: ["json", "pretty"], default: "json", description: "Log format" },
    "log-level": {
      type: "enum",
      options: Object.keys(LOG_LEVELS),
      default: "info",
      description: "Log level",
    },
    "auth-token-file": {
      type: "string",
      valueHint: "file",
      description: "Require bearer tokens from this file (env HFI_AUTH_TOKEN_FILE); see docs/OPERATIONS.md",
    },
  },
  async run({ args }) {
    const logger = createLogger({
      format: args["log-format"] as LogFormat,
      level: LOG_LEVELS[args["log-level"] as LogLevelName],
    });
    const endpoints = args["etcd-endpoints"].split(",").map((url) => url.trim());
    const store: StoreConfig =
      args.store === "etcd" ? { type: "etcd", endpoints, prefix: args["etcd-prefix"] } : { type: "memory" };
    const server = await startServer({
      listen: args.listen,
      store,
      fleet: { leaseTtlSeconds: leaseTtl(args["lease-ttl"]) },
      logger,
      authTokenFile: args["auth-token-file"] || process.env.HFI_AUTH_TOKEN_FILE || undefined,
    });
    const stop = (signal: NodeJS.Signals) => {
      logger.info("shutting down", { signal });
      void server.stop().then(() => process.exit(0));
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  },
});

/** `--lease-ttl` in seconds: etcd leases have a whole number of seconds, at least one. */
function leaseTtl(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1000 || ms % 1000 !== 0) {
    throw new CommandError(`invalid --lease-ttl "${text}": expected whole seconds, at least 1s (e.g. 10s)`);
  }
  return ms / 1000;
}
