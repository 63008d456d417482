/**
 * Child processes for tests, benchmarks and the local stack: started with their output in a log
 * file (optionally pinned to a core), waited for until they answer, stopped by their own handle.
 */
import { readFileSync } from "node:fs";
import type { Subprocess } from "bun";

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

/** Resolves once `url` answers 2xx; fails with the log's tail when the process exits or time runs out. */
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

/** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. */
export async function terminate(proc: Subprocess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
  if (!exited) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}
