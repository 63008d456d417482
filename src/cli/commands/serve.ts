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
      options: ["memory", "etcd", "kubernetes"],
      default: "memory",
      description:
        "Where policies live: memory (one process, lost on exit), etcd (shared by replicas) or kubernetes (FaultInjectionPolicy resources)",
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
    kubeconfig: {
      type: "string",
      valueHint: "file",
      description: "With --store kubernetes: a kubeconfig to reach the API server with (default: in-cluster)",
    },
    context: { type: "string", description: "With --store kubernetes: the kubeconfig context to use" },
    namespace: {
      type: "string",
      alias: ["n"],
      description:
        "With --store kubernetes: the control plane's namespace — its policies, halt and leader Lease (default: the context's, or the pod's)",
    },
    "all-namespaces": {
      type: "boolean",
      alias: ["A"],
      description:
        "With --store kubernetes: serve the policies of every namespace; one outside --namespace targets its own namespace's proxies unless its selector names another",
    },
    "lease-ttl": {
      type: "string",
      valueHint: "duration",
      default: "10s",
      description:
        "With --store etcd: TTL of each replica's etcd lease (whole seconds); a dead leader is replaced, and a dead replica's proxies leave hfi status, this long after it stopped. With --store kubernetes: the leader Lease's duration",
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
    const store = storeConfig(args.store, {
      endpoints,
      prefix: args["etcd-prefix"],
      kubeconfig: args.kubeconfig || undefined,
      context: args.context || undefined,
      namespace: args.namespace || undefined,
      allNamespaces: args["all-namespaces"] === true,
      leaseDurationSeconds: leaseTtl(args["lease-ttl"]),
    });
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

function storeConfig(
  type: string,
  flags: {
    endpoints: string[];
    prefix: string;
    kubeconfig?: string;
    context?: string;
    namespace?: string;
    allNamespaces: boolean;
    leaseDurationSeconds: number;
  },
): StoreConfig {
  const { endpoints, prefix, ...kubernetes } = flags;
  if (type === "etcd") return { type: "etcd", endpoints, prefix };
  if (type === "kubernetes") return { type: "kubernetes", ...kubernetes };
  return { type: "memory" };
}

/** `--lease-ttl` in seconds: etcd leases have a whole number of seconds, at least one. */
function leaseTtl(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1000 || ms % 1000 !== 0) {
    throw new CommandError(`invalid --lease-ttl "${text}": expected whole seconds, at least 1s (e.g. 10s)`);
  }
  return ms / 1000;
}
