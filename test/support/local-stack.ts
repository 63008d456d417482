/**
 * Starts the local hfi stack on loopback ports it picks itself: `dist/hfi serve`, a sample upstream,
 * and the real Envoy loading `dist/hfi-filter.wasm` with deploy/envoy/envoy.yaml (ports and paths
 * patched, nothing else). Used by the demo, the end-to-end tests, the doc-test and the benchmarks,
 * so all of them run the shipped config. For filter tests the control plane can be a stub
 * (stub-control-plane.ts) that serves any body, and the plugin configuration can be amended.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, Scalar, stringify } from "yaml";
import { startEnvoy } from "./envoy.ts";
import { FILTER_WASM, HFI_BIN, ROOT } from "./paths.ts";
import { preferredOrFreePort } from "./ports.ts";
import { type Spawned, spawnLogged, terminate, waitForUrl } from "./process.ts";

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
  /** Envoy's node id (`node.id` in its bootstrap): `nodeId`, else the shipped config's. */
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
  /**
   * Point the `hfi_control_plane` cluster at several loopback ports, round-robin (control plane
   * replicas the caller runs), instead of starting `dist/hfi`; `pids.hfi` is then 0.
   */
  controlPlanePorts?: number[];
  /** Members merged into the filter's plugin configuration (pollWaitSeconds, maxActiveDelays, token, …). */
  pluginConfig?: Record<string, unknown>;
  /** Envoy's node id (bootstrap `node.id`), which the filter reports on its long-polls. */
  nodeId?: string;
  /** Bootstrap `node.metadata` (e.g. Istio's `WORKLOAD_NAME`, `NAMESPACE`, `LABELS`), with `nodeId`. */
  nodeMetadata?: Record<string, unknown>;
  /** Extra arguments for `hfi serve` (e.g. `--auth-token-file FILE`). */
  serveArgs?: string[];
  /** An HTTP access log in this format (e.g. `%FILTER_STATE(wasm.hfi_policy:PLAIN)%`), one line per request. */
  accessLogFormat?: string;
  /** Bootstrap `stats_config` merged into the shipped one (e.g. `{ stats_tags: [...] }`). */
  statsConfig?: Record<string, unknown>;
  /** Requests whose path starts with `pathPrefix` go to an HTTP/2 (gRPC) upstream on loopback `port`. */
  grpcUpstream?: GrpcUpstream;
  /** Ports to take when they are free (the demo's 8080, 10000, 9901); any free port otherwise. */
  preferredPorts?: { controlPlane?: number; envoy?: number; admin?: number };
  /** The upstream's handler instead of the sample's (e.g. a demo system behind Envoy). */
  upstream?: (req: Request) => Response | Promise<Response>;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const logDir = mkdtempSync(join(tmpdir(), "hfi-stack-"));
  const stub = options.controlPlanePort !== undefined || options.controlPlanePorts !== undefined;
  const preferred = options.preferredPorts ?? {};
  const cpPort =
    options.controlPlanePort ??
    options.controlPlanePorts?.[0] ??
    (await preferredOrFreePort(preferred.controlPlane));
  const [envoyPort, adminPort] = [
    await preferredOrFreePort(preferred.envoy),
    await preferredOrFreePort(preferred.admin),
  ];
  const children: Spawned[] = [];
  const upstream = options.upstream
    ? Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: options.upstream })
    : startSampleUpstream();
  const controlPlaneUrl = `http://127.0.0.1:${cpPort}`;
  let hfi: Spawned | undefined;
  const pids = { hfi: 0, envoy: 0 };
  const startControlPlane = async () => {
    if (stub || (hfi && hfi.proc.exitCode === null)) return;
    hfi = spawnLogged(
      [HFI_BIN, "serve", "--listen", `127.0.0.1:${cpPort}`, ...(options.serveArgs ?? [])],
      join(logDir, "hfi.log"),
    );
    pids.hfi = hfi.proc.pid;
    await waitForUrl(`${controlPlaneUrl}/healthz`, hfi);
  };
  const stopControlPlane = async () => {
    if (hfi) await terminate(hfi.proc);
  };
  const stop = async () => {
    await Promise.all([...children.map((c) => terminate(c.proc)), stopControlPlane()]);
    upstream.stop(true);
  };
  try {
    await startControlPlane();

    const configPath = join(logDir, "envoy.yaml");
    const accessLogPath = options.accessLogFormat !== undefined ? join(logDir, "access.log") : undefined;
    const envoyConfig = renderEnvoyConfig(
      {
        envoyPort,
        adminPort,
        cpPorts: options.controlPlanePorts ?? [cpPort],
        upstreamPort: upstream.port ?? 0,
      },
      options.pluginConfig,
      {
        nodeId: options.nodeId,
        nodeMetadata: options.nodeMetadata,
        accessLog:
          accessLogPath !== undefined && options.accessLogFormat !== undefined
            ? { path: accessLogPath, format: options.accessLogFormat }
            : undefined,
        statsConfig: options.statsConfig,
        grpcUpstream: options.grpcUpstream,
      },
    );
    writeFileSync(configPath, envoyConfig);
    const envoy = await startEnvoy({
      configFile: configPath,
      logFile: join(logDir, "envoy.log"),
      adminPort,
      concurrency: options.concurrency ?? 2,
      extraArgs: [
        "--component-log-level",
        "wasm:info",
        // Envoy writes access logs every 10 s by default; tests read them sooner.
        ...(accessLogPath !== undefined ? ["--file-flush-interval-msec", "100"] : []),
      ],
    });
    children.push(envoy);
    pids.envoy = envoy.proc.pid;
    const adminUrl = `http://127.0.0.1:${adminPort}`;

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
      stopEnvoy: () => terminate(envoy.proc),
      nodeId: String(parse(envoyConfig).node?.id ?? ""),
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
  /** The control plane's port, or its replicas' (the cluster balances round-robin over them). */
  cpPorts: number[];
  upstreamPort: number;
}

export interface GrpcUpstream {
  pathPrefix: string;
  port: number;
}

/** Additions to the shipped Envoy config, for tests that need them. */
export interface EnvoyConfigExtras {
  nodeId?: string;
  /** `node.metadata`, set only with `nodeId`. */
  nodeMetadata?: Record<string, unknown>;
  /** A file access log on the listener. */
  accessLog?: { path: string; format: string };
  /** Merged into the bootstrap's `stats_config`. */
  statsConfig?: Record<string, unknown>;
  /** A route (before the shipped one) and an HTTP/2 cluster for a gRPC server. */
  grpcUpstream?: GrpcUpstream;
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
  const config: any = parse(readFileSync(join(ROOT, "deploy/envoy/envoy.yaml"), "utf8"));
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
    config.node = {
      ...config.node,
      id,
      cluster: "hfi-local",
      ...(extras.nodeMetadata && { metadata: extras.nodeMetadata }),
    };
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
    const targets = cluster.name === "hfi_control_plane" ? ports.cpPorts : [ports.upstreamPort];
    const [endpoint] = cluster.load_assignment.endpoints[0].lb_endpoints;
    cluster.load_assignment.endpoints[0].lb_endpoints = targets.map((port) => {
      const copy = structuredClone(endpoint);
      copy.endpoint.address.socket_address.port_value = port;
      return copy;
    });
  }
  if (extras.grpcUpstream) addGrpcUpstream(config, hcm, extras.grpcUpstream);
  return stringify(config);
}

// biome-ignore lint/suspicious/noExplicitAny: walking a parsed Envoy config
function addGrpcUpstream(config: any, hcm: any, { pathPrefix, port }: GrpcUpstream): void {
  hcm.route_config.virtual_hosts[0].routes.unshift({
    match: { prefix: pathPrefix },
    route: { cluster: "grpc_upstream", timeout: "15s" },
  });
  config.static_resources.clusters.push({
    name: "grpc_upstream",
    type: "STATIC",
    connect_timeout: "1s",
    typed_extension_protocol_options: {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    load_assignment: {
      cluster_name: "grpc_upstream",
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } } },
          ],
        },
      ],
    },
  });
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
      // `/status/NNN` answers with that status, for tests of what the filter observes upstream.
      const status = /^\/status\/([2-5]\d\d)$/.exec(url.pathname)?.[1];
      return Response.json(
        {
          upstream: "sample",
          method: req.method,
          path: url.pathname,
          ...(fault !== null ? { fault } : {}),
        },
        { status: status ? Number(status) : 200 },
      );
    },
  });
}
