/**
 * Runs wrk (pinned to a core, one thread) and reads its summary through bench/wrk/json.lua; GETs,
 * or POSTs of a body through bench/wrk/post.lua (which reads its size from the environment).
 */
import { ROOT } from "../test/support/paths.ts";

const SCRIPT = `${ROOT}bench/wrk/json.lua`;
const POST_SCRIPT = `${ROOT}bench/wrk/post.lua`;
const MARKER = "HFI_BENCH_JSON ";

export interface WrkSummary {
  requests: number;
  durationUs: number;
  bytes: number;
  /** `status` counts responses outside 2xx/3xx (expected for the abort variants). */
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { min: number; max: number; mean: number; stdev: number; p: Record<string, number> };
}

export interface WrkRun {
  command: string;
  summary: WrkSummary;
}

export interface WrkOptions {
  url: string;
  connections: number;
  durationS: number;
  /** Core wrk is pinned to (`taskset -c`); 0 by default, Envoy gets core 1. */
  cpu?: number;
  latency?: boolean;
  timeoutS?: number;
  /** Every request a POST with a body of this many bytes (default: GETs without a body). */
  bodyBytes?: number;
}

/** Installs wrk from Debian when it is missing (hey and autocannon report in 0.1 ms / 1 ms steps: too coarse for µs differences). */
export async function ensureWrk(): Promise<void> {
  if (Bun.which("wrk")) return;
  console.log("bench: installing wrk (Debian)");
  const update = Bun.spawnSync(["apt-get", "update", "-qq"], { stdout: "ignore", stderr: "inherit" });
  const install = Bun.spawnSync(["apt-get", "install", "-y", "-qq", "wrk"], {
    stdout: "ignore",
    stderr: "inherit",
  });
  if (update.exitCode !== 0 || install.exitCode !== 0 || !Bun.which("wrk")) {
    throw new Error("wrk is missing and apt-get install -y wrk failed");
  }
}

export function wrkCommand(options: WrkOptions): string[] {
  const post = options.bodyBytes !== undefined;
  return [
    // `env` in the command itself, so the command printed with the results reproduces the run.
    ...(post ? ["env", `HFI_BENCH_BODY_BYTES=${options.bodyBytes}`] : []),
    "taskset",
    "-c",
    String(options.cpu ?? 0),
    "wrk",
    "-t1",
    `-c${options.connections}`,
    `-d${options.durationS}s`,
    `--timeout`,
    `${options.timeoutS ?? 5}s`,
    ...(options.latency ? ["--latency"] : []),
    "-s",
    post ? POST_SCRIPT : SCRIPT,
    options.url,
  ];
}

export async function runWrk(options: WrkOptions): Promise<WrkRun> {
  const cmd = wrkCommand(options);
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  const line = stdout.split("\n").find((l) => l.startsWith(MARKER));
  if (code !== 0 || !line)
    throw new Error(`wrk failed (exit ${code}): ${cmd.join(" ")}\n${stdout}\n${stderr}`);
  return { command: cmd.join(" "), summary: JSON.parse(line.slice(MARKER.length)) as WrkSummary };
}

/** Requests that failed at the socket level (never expected). */
export const socketErrors = (s: WrkSummary) =>
  s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout;
