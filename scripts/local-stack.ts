/**
 * Starts the local hfi stack on loopback ports it picks itself: `dist/hfi serve`, a sample upstream,
 * and the real Envoy loading `dist/hfi-filter.wasm` with deploy/envoy/envoy.yaml (ports and paths
 * patched, nothing else). Used by the demo and the end-to-end tests, so both run the shipped config.
 * For filter tests the control plane can be a stub (startStubControlPlane) that serves any body,
 * and the plugin configuration can be amended.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { parse, Scalar, stringify } from "yaml";

const root = new URL("..", import.meta.url).pathname;
export const HFI_BIN = join(root, "dist/hfi");
export const FILTER_WASM = join(root, "dist/hfi-filter.wasm");
export const ENVOY_BIN = join(root, ".tools/venv/bin/envoy");

export interface LocalStack {
  controlPlaneUrl: string;
  envoyUrl: string;
  adminUrl: string;
  upstreamUrl: string;
  /** Process ids of everything started, for the demo's "what is running" line. */
  pids: { hfi: number; envoy: number };
  logDir: string;
  stop(): Promise<void>;
  /** Stops `dist/hfi` (SIGTERM), leaving Envoy running; no-op with `controlPlanePort`. */
  stopControlPlane(): Promise<void>;
  /** Starts `dist/hfi` again on the same port (a memory store starts empty); no-op with `controlPlanePort`. */
  startControlPlane(): Promise<void>;
  /** Stops Envoy (SIGTERM, then SIGKILL after 5 s), leaving the rest running. */
  stopEnvoy(): Promise<void>;
  /** Envoy's node id (`node.id` in its bootstrap); "" when none was set. */
  nodeId: string;
  /** The access log file, with `accessLogFormat`. */
  accessLogPath?: string;
}

export interface LocalStackOptions {
  /** Envoy worker threads; each runs its own filter VM and long-poll. */
  concurrency?: number;
  /**
   * Point Envoy's `hfi_control_plane` cluster at this loopback port (e.g. a stub control plane)
   * instead of starting `dist/hfi`; `pids.hfi` is then 0.
   */
  controlPlanePort?: number;
  /** Members merged into the filter's plugin configuration (pollWaitSeconds, maxActiveDelays, token, …). */
  pluginConfig?: Record<string, unknown>;
  /** Envoy's node id (bootstrap `node.id`), which the filter reports on its long-polls. */
  nodeId?: string;
  /** Extra arguments for `hfi serve` (e.g. `--auth-token-file FILE`). */
  serveArgs?: string[];
  /** An HTTP access log in this format (e.g. `%FILTER_STATE(wasm.hfi_policy:PLAIN)%`), one line per request. */
  accessLogFormat?: string;
  /** Bootstrap `stats_config` merged into the shipped one (e.g. `{ stats_tags: [...] }`). */
  statsConfig?: Record<string, unknown>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const logDir = mkdtempSync(join(tmpdir(), "hfi-stack-"));
  const stub = options.controlPlanePort !== undefined;
  const cpPort = options.controlPlanePort ?? (await freePort());
  const [envoyPort, adminPort] = [await freePort(), await freePort()];
  const children: Subprocess[] = [];
  const upstream = startSampleUpstream();
  const controlPlaneUrl = `http://127.0.0.1:${cpPort}`;
  let hfi: Subprocess | undefined;
  const pids = { hfi: 0, envoy: 0 };
  const startControlPlane = async () => {
    if (stub || (hfi && hfi.exitCode === null)) return;
    hfi = await startServe(cpPort, join(logDir, "hfi.log"), options.serveArgs);
    pids.hfi = hfi.pid;
  };
  const stopControlPlane = async () => {
    if (hfi) await terminate(hfi);
  };
  const stop = async () => {
    await Promise.all([...children.map(terminate), stopControlPlane()]);
    upstream.stop(true);
  };
  try {
    await startControlPlane();

    const configPath = join(logDir, "envoy.yaml");
    const accessLogPath = options.accessLogFormat !== undefined ? join(logDir, "access.log") : undefined;
    writeFileSync(
      configPath,
      renderEnvoyConfig(
        { envoyPort, adminPort, cpPort, upstreamPort: upstream.port ?? 0 },
        options.pluginConfig,
        {
          nodeId: options.nodeId,
          accessLog:
            accessLogPath !== undefined && options.accessLogFormat !== undefined
              ? { path: accessLogPath, format: options.accessLogFormat }
              : undefined,
          statsConfig: options.statsConfig,
        },
      ),
    );
    const envoyArgs = [
      ENVOY_BIN,
      "-c",
      configPath,
      "--concurrency",
      String(options.concurrency ?? 2),
      "--disable-hot-restart",
      "--log-level",
      "warn",
      "--component-log-level",
      "wasm:info",
      // Envoy writes access logs every 10 s by default; tests read them sooner.
      ...(accessLogPath !== undefined ? ["--file-flush-interval-msec", "100"] : []),
    ];
    const envoy = spawnLogged(envoyArgs, join(logDir, "envoy.log"));
    children.push(envoy);
    pids.envoy = envoy.pid;
    const adminUrl = `http://127.0.0.1:${adminPort}`;
    await waitFor(`${adminUrl}/ready`, envoy, join(logDir, "envoy.log"));

    return {
      controlPlaneUrl,
      envoyUrl: `http://127.0.0.1:${envoyPort}`,
      adminUrl,
      upstreamUrl: `http://127.0.0.1:${upstream.port}`,
      pids,
      logDir,
      async stop() {
        await stop();
        rmSync(logDir, { recursive: true, force: true });
      },
      stopControlPlane,
      startControlPlane,
      stopEnvoy: () => terminate(envoy),
      nodeId: options.nodeId ?? "",
      accessLogPath,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

interface Ports {
  envoyPort: number;
  adminPort: number;
  cpPort: number;
  upstreamPort: number;
}

/** Additions to the shipped Envoy config, for tests that need them. */
export interface EnvoyConfigExtras {
  nodeId?: string;
  /** A file access log on the listener. */
  accessLog?: { path: string; format: string };
  /** Merged into the bootstrap's `stats_config`. */
  statsConfig?: Record<string, unknown>;
}

/**
 * deploy/envoy/envoy.yaml with loopback ports and an absolute .wasm path; everything else as shipped,
 * except for plugin configuration members given in `pluginConfig` and the `extras`.
 */
export function renderEnvoyConfig(
  ports: Ports,
  pluginConfig?: Record<string, unknown>,
  extras: EnvoyConfigExtras = {},
): string {
  // biome-ignore lint/suspicious/noExplicitAny: walking a parsed Envoy config
  const config: any = parse(readFileSync(join(root, "deploy/envoy/envoy.yaml"), "utf8"));
  config.admin.address.socket_address.port_value = ports.adminPort;
  const listener = config.static_resources.listeners[0];
  listener.address.socket_address = { address: "127.0.0.1", port_value: ports.envoyPort };
  const hcm = listener.filter_chains[0].filters[0].typed_config;
  const wasm = hcm.http_filters[0].typed_config.config;
  wasm.vm_config.code.local.filename = FILTER_WASM;
  if (pluginConfig) {
    wasm.configuration.value = JSON.stringify({ ...JSON.parse(wasm.configuration.value), ...pluginConfig });
  }
  if (extras.nodeId !== undefined) {
    // Quoted: Envoy reads YAML 1.1, where a bare `n` or `yes` would be a boolean.
    const id = Object.assign(new Scalar(extras.nodeId), { type: Scalar.QUOTE_DOUBLE });
    config.node = { ...config.node, id, cluster: "hfi-local" };
  }
  if (extras.accessLog) {
    hcm.access_log = [
      ...(hcm.access_log ?? []),
      {
        name: "envoy.access_loggers.file",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
          path: extras.accessLog.path,
          log_format: { text_format_source: { inline_string: `${extras.accessLog.format}\n` } },
        },
      },
    ];
  }
  if (extras.statsConfig) config.stats_config = { ...config.stats_config, ...extras.statsConfig };
  for (const cluster of config.static_resources.clusters) {
    const port = cluster.name === "hfi_control_plane" ? ports.cpPort : ports.upstreamPort;
    cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value = port;
  }
  return stringify(config);
}

/**
 * A plain upstream: 200 with a short JSON echo, so a passing request is easy to tell from a fault;
 * `fault` echoes the `x-hfi-fault` request header the filter sets on a delayed request.
 */
function startSampleUpstream() {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      const fault = req.headers.get("x-hfi-fault");
      return Response.json({
        upstream: "sample",
        method: req.method,
        path: url.pathname,
        ...(fault !== null ? { fault } : {}),
      });
    },
  });
}

/**
 * `dist/hfi serve` on a loopback port, its output appended to `logFile`; resolves once it answers
 * /healthz. Stop it with `terminate`.
 */
export async function startServe(port: number, logFile: string, args: string[] = []): Promise<Subprocess> {
  const hfi = spawnLogged([HFI_BIN, "serve", "--listen", `127.0.0.1:${port}`, ...args], logFile);
  await waitFor(`http://127.0.0.1:${port}/healthz`, hfi, logFile);
  return hfi;
}

function spawnLogged(cmd: string[], logFile: string): Subprocess {
  const log = Bun.file(logFile);
  return Bun.spawn(cmd, { stdout: log, stderr: log, stdin: "ignore" });
}

async function waitFor(url: string, proc: Subprocess, logFile: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) break;
    const ok = await fetch(url)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    await Bun.sleep(100);
  }
  const log = await Bun.file(logFile)
    .text()
    .catch(() => "");
  throw new Error(`${url} did not become ready (exit code ${proc.exitCode}); log tail:\n${log.slice(-3000)}`);
}

/** SIGTERM, then SIGKILL if it has not exited within 5 s. */
export async function terminate(proc: Subprocess): Promise<void> {
  if (proc.exitCode !== null) return;
  proc.kill("SIGTERM");
  const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
  if (!exited) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

export interface StubControlPlane {
  url: string;
  port: number;
  /** `path?query` of every poll received, in order. */
  readonly polls: string[];
  /**
   * Serves `body` — a RuleSet, or anything at all — as `revision` from now on, with that revision
   * as its ETag. Held polls are answered at once, as the real control plane does.
   */
  publish(body: string, revision: number): void;
  stop(): void;
}

/**
 * A stand-in for `hfi serve`'s `GET /v1/config?after=REV&wait=S` long-poll that serves whatever it
 * is given, so filter tests can send rule sets the real control plane would never produce.
 * Before the first publish, polls are held and then answered 304.
 */
export function startStubControlPlane(): StubControlPlane {
  const polls: string[] = [];
  let current: { body: string; revision: number } | undefined;
  let changed = Promise.withResolvers<void>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req, srv) {
      const url = new URL(req.url);
      if (url.pathname !== "/v1/config") return new Response("not found", { status: 404 });
      polls.push(url.pathname + url.search);
      const after = url.searchParams.get("after");
      const wait = Math.min(Number(url.searchParams.get("wait") ?? 25), 60);
      if (!current || after === String(current.revision)) {
        srv.timeout(req, wait + 5);
        const answered = await Promise.race([changed.promise.then(() => true), Bun.sleep(wait * 1000)]);
        if (!answered || !current || after === String(current.revision)) {
          return new Response(null, { status: 304, headers: { etag: `"${after ?? ""}"` } });
        }
      }
      return new Response(current.body, {
        headers: { "content-type": "application/json", etag: `"${current.revision}"` },
      });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port ?? 0,
    polls,
    publish(body, revision) {
      current = { body, revision };
      changed.resolve();
      changed = Promise.withResolvers<void>();
    },
    stop() {
      server.stop(true);
    },
  };
}
