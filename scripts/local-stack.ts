/**
 * Starts the local hfi stack on loopback ports it picks itself: `dist/hfi serve`, a sample upstream,
 * and the real Envoy loading `dist/hfi-filter.wasm` with deploy/envoy/envoy.yaml (ports and paths
 * patched, nothing else). Used by the demo and the end-to-end tests, so both run the shipped config.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { parse, stringify } from "yaml";

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
}

export interface LocalStackOptions {
  /** Envoy worker threads; each runs its own filter VM and long-poll. */
  concurrency?: number;
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
  const [cpPort, envoyPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const children: Subprocess[] = [];
  const upstream = startSampleUpstream();
  const stop = async () => {
    await Promise.all(children.map(terminate));
    upstream.stop(true);
  };
  try {
    const hfi = spawnLogged([HFI_BIN, "serve", "--listen", `127.0.0.1:${cpPort}`], join(logDir, "hfi.log"));
    children.push(hfi);
    const controlPlaneUrl = `http://127.0.0.1:${cpPort}`;
    await waitFor(`${controlPlaneUrl}/healthz`, hfi, join(logDir, "hfi.log"));

    const configPath = join(logDir, "envoy.yaml");
    writeFileSync(
      configPath,
      renderEnvoyConfig({ envoyPort, adminPort, cpPort, upstreamPort: upstream.port ?? 0 }),
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
    ];
    const envoy = spawnLogged(envoyArgs, join(logDir, "envoy.log"));
    children.push(envoy);
    const adminUrl = `http://127.0.0.1:${adminPort}`;
    await waitFor(`${adminUrl}/ready`, envoy, join(logDir, "envoy.log"));

    return {
      controlPlaneUrl,
      envoyUrl: `http://127.0.0.1:${envoyPort}`,
      adminUrl,
      upstreamUrl: `http://127.0.0.1:${upstream.port}`,
      pids: { hfi: hfi.pid, envoy: envoy.pid },
      logDir,
      async stop() {
        await stop();
        rmSync(logDir, { recursive: true, force: true });
      },
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

/** deploy/envoy/envoy.yaml with loopback ports and an absolute .wasm path; everything else as shipped. */
export function renderEnvoyConfig(ports: Ports): string {
  // biome-ignore lint/suspicious/noExplicitAny: walking a parsed Envoy config
  const config: any = parse(readFileSync(join(root, "deploy/envoy/envoy.yaml"), "utf8"));
  config.admin.address.socket_address.port_value = ports.adminPort;
  const listener = config.static_resources.listeners[0];
  listener.address.socket_address = { address: "127.0.0.1", port_value: ports.envoyPort };
  const hcm = listener.filter_chains[0].filters[0].typed_config;
  hcm.http_filters[0].typed_config.config.vm_config.code.local.filename = FILTER_WASM;
  for (const cluster of config.static_resources.clusters) {
    const port = cluster.name === "hfi_control_plane" ? ports.cpPort : ports.upstreamPort;
    cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value = port;
  }
  return stringify(config);
}

/** A plain upstream: 200 with a short JSON echo, so a passing request is easy to tell from a fault. */
function startSampleUpstream() {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      return Response.json({ upstream: "sample", method: req.method, path: url.pathname });
    },
  });
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

async function terminate(proc: Subprocess): Promise<void> {
  if (proc.exitCode !== null) return;
  proc.kill("SIGTERM");
  const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
  if (!exited) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}
