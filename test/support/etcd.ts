/**
 * A real etcd for tests — one member (startTestEtcd) or a cluster (startTestEtcdCluster): loopback
 * client and peer ports picked free, temporary data dirs, removed again by `stop()`. `kill()` and
 * `start()` bring a member down and back (same data dir, same ports) to test what clients do across
 * an outage.
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
  /** Compacts the history up to the current revision: a watch from before it fails (compacted). */
  compact(): Promise<void>;
  /** Kills the member and removes its data dir. */
  stop(): Promise<void>;
}

const ETCD_BIN = process.env.ETCD_BIN ?? Bun.which("etcd") ?? "/usr/bin/etcd";

export async function startTestEtcd(): Promise<TestEtcd> {
  const cluster = await startTestEtcdCluster(1);
  const [only] = cluster.members as [TestEtcd];
  return { ...only, stop: () => cluster.stop() };
}

export interface TestEtcdCluster {
  /** Every member's client URL, for `--etcd-endpoints`. */
  endpoints: string[];
  members: TestEtcd[];
  /** The member that is raft leader now (asked of any running member). */
  leader(): Promise<TestEtcd>;
  /** Stops every member and removes the data dirs. */
  stop(): Promise<void>;
}

/** `size` members on loopback that form one cluster; resolves when every member answers /health. */
export async function startTestEtcdCluster(size: number): Promise<TestEtcdCluster> {
  const dir = mkdtempSync(join(tmpdir(), "hfi-etcd-"));
  const ports = await freePorts(2 * size);
  const specs = Array.from({ length: size }, (_, i) => ({
    name: `hfi-test-${i}`,
    endpoint: `http://127.0.0.1:${ports[2 * i]}`,
    peer: `http://127.0.0.1:${ports[2 * i + 1]}`,
  }));
  const initialCluster = specs.map((m) => `${m.name}=${m.peer}`).join(",");
  const members = specs.map((spec) => member(dir, spec, initialCluster));
  try {
    // Members of a new cluster wait for each other: start them together.
    await Promise.all(members.map((m) => m.start()));
  } catch (err) {
    await Promise.all(members.map((m) => m.kill()));
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const byId = new Map<string, TestEtcd>();
  return {
    endpoints: members.map((m) => m.endpoint),
    members,
    async leader() {
      for (const m of members) {
        if (m.pid() === undefined) continue;
        const status = await memberStatus(m.endpoint).catch(() => undefined);
        if (!status?.leader) continue;
        if (byId.size === 0) {
          for (const other of members) {
            const own = await memberStatus(other.endpoint).catch(() => undefined);
            if (own) byId.set(own.header.member_id, other);
          }
        }
        const found = byId.get(status.leader);
        if (found) return found;
      }
      throw new Error("no etcd member knows a leader");
    },
    async stop() {
      await Promise.all(members.map((m) => m.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** etcd's gRPC gateway: the member's own id and the leader's, as decimal strings. */
async function memberStatus(endpoint: string): Promise<{ header: { member_id: string }; leader: string }> {
  const res = await fetch(`${endpoint}/v3/maintenance/status`, { method: "POST", body: "{}" });
  if (!res.ok) throw new Error(`status of ${endpoint}: ${res.status}`);
  return (await res.json()) as { header: { member_id: string }; leader: string };
}

function member(
  dir: string,
  { name, endpoint, peer }: { name: string; endpoint: string; peer: string },
  initialCluster: string,
): TestEtcd {
  const dataDir = join(dir, name);
  const args = [
    ETCD_BIN,
    `--name=${name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${endpoint}`,
    `--advertise-client-urls=${endpoint}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=${initialCluster}`,
    "--logger=zap",
    "--log-outputs=stderr",
    "--log-level=error",
  ];
  let proc: Subprocess | undefined;

  async function start(): Promise<void> {
    if (proc && proc.exitCode === null && !proc.killed) return;
    proc = Bun.spawn(args, { stdout: "ignore", stderr: Bun.file(join(dir, `${name}-${Date.now()}.log`)) });
    await waitHealthy(endpoint, proc);
  }

  async function kill(): Promise<void> {
    if (!proc) return;
    proc.kill("SIGKILL");
    await proc.exited;
    proc = undefined;
  }

  return {
    endpoint,
    dataDir,
    pid: () => proc?.pid,
    start,
    kill,
    freeze: () => proc?.kill("SIGSTOP"),
    thaw: () => proc?.kill("SIGCONT"),
    async compact() {
      // etcd's JSON gateway: a range read for the current revision, then a compaction to it.
      const post = async (path: string, body: object) => {
        const res = await fetch(`${endpoint}${path}`, { method: "POST", body: JSON.stringify(body) });
        if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${await res.text()}`);
        return (await res.json()) as { header: { revision: string } };
      };
      const { header } = await post("/v3/kv/range", { key: btoa("/") });
      await post("/v3/kv/compaction", { revision: header.revision, physical: true });
    },
    async stop() {
      await kill();
      rmSync(dataDir, { recursive: true, force: true });
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
