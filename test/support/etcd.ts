/**
 * A real single-member etcd for tests: loopback client and peer ports picked free, a temporary
 * data dir, removed again by `stop()`. `kill()` and `start()` bring the same member down and back
 * (same data dir, same ports) to test what clients do across an outage.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePorts } from "./ports.ts";

export interface TestEtcd {
  /** `http://127.0.0.1:<client port>`. */
  endpoint: string;
  dataDir: string;
  /** The member's process id while it runs (for CPU accounting in benchmarks). */
  pid(): number | undefined;
  /** Starts the member again after `kill()`; resolves when it answers /health. */
  start(): Promise<void>;
  /** SIGKILL: an abrupt outage, as a crash or a partition looks to clients. */
  kill(): Promise<void>;
  /** SIGSTOP: connections stay open and nothing is answered, as with a stalled disk or a GC pause. */
  freeze(): void;
  /** SIGCONT after `freeze()`. */
  thaw(): void;
  /** Kills the member and removes its data dir. */
  stop(): Promise<void>;
}

const ETCD_BIN = process.env.ETCD_BIN ?? Bun.which("etcd") ?? "/usr/bin/etcd";

export async function startTestEtcd(): Promise<TestEtcd> {
  const dir = mkdtempSync(join(tmpdir(), "hfi-etcd-"));
  const dataDir = join(dir, "data");
  const [clientPort, peerPort] = await freePorts(2);
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    ETCD_BIN,
    "--name=hfi-test",
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${endpoint}`,
    `--advertise-client-urls=${endpoint}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=hfi-test=${peer}`,
    "--logger=zap",
    "--log-outputs=stderr",
    "--log-level=error",
  ];
  let proc: Subprocess | undefined;

  async function start(): Promise<void> {
    if (proc && proc.exitCode === null && !proc.killed) return;
    proc = Bun.spawn(args, { stdout: "ignore", stderr: Bun.file(join(dir, `etcd-${Date.now()}.log`)) });
    await waitHealthy(endpoint, proc);
  }

  async function kill(): Promise<void> {
    if (!proc) return;
    proc.kill("SIGKILL");
    await proc.exited;
    proc = undefined;
  }

  await start();
  return {
    endpoint,
    dataDir,
    pid: () => proc?.pid,
    start,
    kill,
    freeze: () => proc?.kill("SIGSTOP"),
    thaw: () => proc?.kill("SIGCONT"),
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitHealthy(endpoint: string, proc: Subprocess): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`etcd exited with code ${proc.exitCode} while starting`);
    try {
      const res = await fetch(`${endpoint}/health`);
      if (res.ok && ((await res.json()) as { health?: string }).health === "true") return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(50);
  }
  throw new Error(`etcd at ${endpoint} did not become healthy within 15 s`);
}
