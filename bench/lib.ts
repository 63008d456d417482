/**
 * Process plumbing shared by the benchmarks: spawning (optionally pinned to a core) with logs,
 * readiness waits, clean stops, and what /proc says about a process (CPU time, RSS) and the machine.
 */
import { readdirSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import type { Subprocess } from "bun";

export const ROOT = new URL("..", import.meta.url).pathname;
export { ENVOY_BIN, FILTER_WASM, freePort, HFI_BIN } from "../scripts/local-stack.ts";

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
export const CLK_TCK = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

export interface Spawned {
  proc: Subprocess;
  /** The command line as run (with the taskset prefix when pinned). */
  command: string;
  logFile: string;
}

/** Starts `cmd` with stdout and stderr to `logFile`; `cpu` pins it (and every thread it starts) to that core. */
export function spawnLogged(cmd: string[], logFile: string, options: { cpu?: number } = {}): Spawned {
  const full = options.cpu === undefined ? cmd : ["taskset", "-c", String(options.cpu), ...cmd];
  const log = Bun.file(logFile);
  const proc = Bun.spawn(full, { stdout: log, stderr: log, stdin: "ignore" });
  return { proc, command: full.join(" "), logFile };
}

export async function waitForUrl(url: string, spawned: Spawned, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (spawned.proc.exitCode !== null) break;
    const ok = await fetch(url)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    await Bun.sleep(50);
  }
  throw new Error(
    `${url} did not become ready (exit code ${spawned.proc.exitCode}); log tail:\n${tail(spawned.logFile)}`,
  );
}

export function tail(file: string, chars = 3000): string {
  try {
    return readFileSync(file, "utf8").slice(-chars);
  } catch {
    return "";
  }
}

export async function terminate(proc: Subprocess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
  if (!exited) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

/** utime + stime of every thread of `pid` so far, in µs (resolution 1/CLK_TCK s). */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may contain spaces) start at field 3 (state).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1_000_000) / CLK_TCK;
}

/** Sum of the scheduler's run time of every thread of `pid`, in µs (nanosecond resolution). */
export function schedMicros(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread exited between the listing and the read
    }
  }
  return ns / 1000;
}

/** VmRSS and VmHWM (peak) of `pid`, in KiB. */
export function memoryKiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { rss: field("VmRSS"), hwm: field("VmHWM") };
}

export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** What else the machine was doing: recorded next to every result, since the cores are shared. */
export function machine() {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    loadavg: loadavg().map((n) => Math.round(n * 100) / 100),
  };
}
