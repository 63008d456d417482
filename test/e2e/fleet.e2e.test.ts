/**
 * The fleet end to end: a 3-member etcd cluster, 3 `dist/hfi serve --store etcd` replicas, and 2 real
 * Envoys (2 workers each, so 3 long-polls each with the main thread) whose control-plane cluster is
 * round-robin over all replicas. A bounded write stream runs while the etcd leader is killed and
 * restarted and the hfi leader is killed with SIGKILL; afterwards every acknowledged write is there,
 * replicas and Envoy workers agree on one rule set, and `hfi status` and `apply --wait` through any
 * replica see every worker.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FleetStatus, ProxiesStatus } from "../../src/api-types.ts";
import { hfi } from "../support/cli.ts";
import { startTestEtcdCluster, type TestEtcdCluster } from "../support/etcd.ts";
import { eventually } from "../support/eventually.ts";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";
import { HFI_BIN } from "../support/paths.ts";
import { freePorts } from "../support/ports.ts";
import { type HfiReplica, startHfiReplica } from "../support/replicas.ts";
import { expectSoon, send } from "../support/requests.ts";

const LEASE_TTL_SECONDS = 3;
const WRITERS = 10;
const NAMES_PER_WRITER = 3;
const MIN_OPS = 1000;
/** Past this many operations the stream stops whatever happened: it is bounded. */
const MAX_OPS = 6000;
/** 2 Envoys × (2 workers + the main thread). */
const WORKERS = 6;

type Replica = HfiReplica;

let etcd: TestEtcdCluster;
let replicas: Replica[] = [];
let envoys: LocalStack[] = [];
let logDir: string;

const startReplica = (port: number) =>
  startHfiReplica({
    port,
    store: { type: "etcd", endpoints: etcd.endpoints },
    logDir,
    leaseTtlSeconds: LEASE_TTL_SECONDS,
  });

const json = async <T>(url: string): Promise<T> => (await (await fetch(url)).json()) as T;
const statusOf = (r: Replica) => json<FleetStatus>(`${r.url}/v1/status`);
const proxiesOf = (r: Replica) => json<ProxiesStatus>(`${r.url}/v1/status/proxies`);

/** Every replica names the same leader, one of them. */
async function agreedLeader(of: Replica[], limitMs: number): Promise<Replica> {
  const statuses = await eventually(
    () => Promise.all(of.map(statusOf)),
    (s) =>
      s.every((x) => x.leader !== null && x.leader === s[0]?.leader) &&
      of.some((r) => r.name === s[0]?.leader),
    limitMs,
  );
  return of.find((r) => r.name === statuses[0]?.leader) as Replica;
}

beforeAll(async () => {
  etcd = await startTestEtcdCluster(3);
  logDir = mkdtempSync(join(tmpdir(), "hfi-fleet-"));
  const ports = await freePorts(3);
  replicas = await Promise.all(ports.map(startReplica));
  envoys = await Promise.all(
    ["envoy-1", "envoy-2"].map((nodeId) =>
      startLocalStack({ concurrency: 2, nodeId, controlPlanePorts: ports }),
    ),
  );
}, 60_000);

afterAll(async () => {
  await Promise.all(envoys.map((e) => e.stop()));
  for (const r of replicas) r.proc.kill("SIGKILL");
  await Promise.all(replicas.map((r) => r.proc.exited));
  await etcd?.stop();
  rmSync(logDir, { recursive: true, force: true });
});

/** One operation of the stream and what became of it. */
interface Op {
  kind: "put" | "delete";
  seq: number;
  /** 2xx (or 404 for a delete): the outcome is known. Otherwise it may or may not have happened. */
  acknowledged: boolean;
}

const policyOf = (name: string, seq: number) => ({
  apiVersion: "hfi.dev/v1alpha1",
  kind: "FaultInjectionPolicy",
  metadata: { name },
  spec: { match: { path: { prefix: `/fleet/${name}/${seq}/` } }, fault: { abort: { httpStatus: 503 } } },
});

/** A policy of the stream as the API returns it. */
interface Written {
  metadata: { name: string };
  spec: { match: { path: { prefix: string } } };
}

/** The sequence number a stored policy was written with. */
const seqOf = (policy: Written) => Number(policy.spec.match.path.prefix.split("/")[3]);

/** The states a name may be in: the last acknowledged operation's, or any later unacknowledged one's. */
function allowedStates(ops: Op[]): Set<number | null> {
  const effect = (op: Op) => (op.kind === "put" ? op.seq : null);
  const lastAcked = ops.findLastIndex((op) => op.acknowledged);
  const allowed = new Set<number | null>([lastAcked === -1 ? null : effect(ops[lastAcked] as Op)]);
  for (const op of ops.slice(lastAcked + 1)) allowed.add(effect(op));
  return allowed;
}

let history = new Map<string, Op[]>();

test("writes acknowledged during an etcd leader restart and a kill -9 of the hfi leader are all kept; a new leader takes over", async () => {
  await agreedLeader(replicas, 10_000);
  const alive = new Set(replicas);
  let done = 0;
  let acknowledged = 0;
  /** Answers by status ("no answer" when none came), for the failure message. */
  const answers: Record<string, number> = {};
  let chaosOver = false;
  let seq = 0;
  history = new Map();

  async function writer(w: number): Promise<void> {
    let turn = w;
    while ((acknowledged < MIN_OPS || !chaosOver) && done < MAX_OPS) {
      const name = `w${w}-${turn % NAMES_PER_WRITER}`;
      const targets = [...alive];
      const target = targets[turn++ % targets.length] as Replica;
      const kind = Math.random() < 0.7 ? "put" : "delete";
      const op: Op = { kind, seq: ++seq, acknowledged: false };
      const ops = history.get(name) ?? [];
      history.set(name, [...ops, op]);
      try {
        const res = await fetch(`${target.url}/v1/policies/${name}`, {
          method: kind === "put" ? "PUT" : "DELETE",
          headers: { "content-type": "application/json" },
          body: kind === "put" ? JSON.stringify(policyOf(name, op.seq)) : undefined,
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        op.acknowledged = res.ok || (kind === "delete" && res.status === 404);
        answers[res.status] = (answers[res.status] ?? 0) + 1;
      } catch {
        // No answer: unknown outcome.
        answers["no answer"] = (answers["no answer"] ?? 0) + 1;
      }
      done += 1;
      if (op.acknowledged) acknowledged += 1;
      // As a client should, back off a little from a replica that cannot write now.
      else await Bun.sleep(100);
    }
  }

  async function untilOps(count: number): Promise<void> {
    while (done < count) await Bun.sleep(20);
  }

  const chaos = (async () => {
    await untilOps(150);
    const etcdLeader = await etcd.leader();
    await etcdLeader.kill();
    await Promise.all([untilOps(done + 150), Bun.sleep(1000)]);
    await etcdLeader.start();
    await Promise.all([untilOps(done + 150), Bun.sleep(1000)]);
    const leader = await agreedLeader([...alive], 15_000);
    leader.proc.kill("SIGKILL");
    alive.delete(leader);
    await leader.proc.exited;
    // Its lease runs out within the TTL; the survivors elect one of them.
    const next = await agreedLeader([...alive], (LEASE_TTL_SECONDS + 5) * 1000);
    expect(next).not.toBe(leader);
    chaosOver = true;
  })();
  await Promise.all([chaos, ...Array.from({ length: WRITERS }, (_, w) => writer(w))]);
  expect({ acknowledged: acknowledged >= MIN_OPS, answers }).toEqual({ acknowledged: true, answers });

  // The killed replica comes back (under a new name); it sees the same store.
  const dead = replicas.find((r) => !alive.has(r)) as Replica;
  replicas = [...alive, await startReplica(Number(new URL(dead.url).port))];

  for (const replica of replicas) {
    const { items } = await json<{ items: Written[] }>(`${replica.url}/v1/policies`);
    const stored = new Map(items.map((p) => [p.metadata.name, seqOf(p)]));
    for (const [name, ops] of history) {
      const state = stored.get(name) ?? null;
      expect({ name, state, allowed: [...allowedStates(ops)].includes(state) }).toEqual({
        name,
        state,
        allowed: true,
      });
    }
  }
}, 80_000);

test("every replica serves one rule set (one identity), and every Envoy worker has it", async () => {
  const etags = await eventually(
    () => Promise.all(replicas.map(async (r) => (await fetch(`${r.url}/v1/config`)).headers.get("etag"))),
    (e) => e.every((etag) => etag !== null && etag === e[0]),
    10_000,
  );
  expect(new Set(etags).size).toBe(1);
  const id = (etags[0] as string).replace(/^W\/"(.*)"$/, "$1");

  // The workers of the dead replica move to the others; every worker reports the served identity.
  for (const replica of replicas) {
    const status = await eventually(
      () => proxiesOf(replica),
      (s) => s.proxies.filter((p) => p.live && p.ruleSetId === id).length === WORKERS,
      (LEASE_TTL_SECONDS + 10) * 1000,
    );
    expect(status.id).toBe(id);
    const live = status.proxies.filter((p) => p.live);
    expect(new Set(live.map((p) => p.node))).toEqual(new Set(["envoy-1", "envoy-2"]));
    expect(live.every((p) => p.revision === status.revision)).toBe(true);
  }

  // Through both Envoys, on fresh connections (so over every worker): the final policies fault.
  const { items } = await json<{ items: Written[] }>(`${replicas[0]?.url}/v1/policies`);
  const sample = items.slice(0, 3);
  expect(sample.length).toBeGreaterThan(0);
  for (const envoy of envoys) {
    for (const policy of sample) {
      const path = `${policy.spec.match.path.prefix}x`;
      const hit = await expectSoon(
        () => send(envoy.envoyUrl, path),
        (s) => s.status === 503 && s.fault === policy.metadata.name,
        WORKERS,
        10_000,
      );
      expect(hit.fault).toBe(policy.metadata.name);
    }
  }
}, 60_000);

test("hfi status through any replica counts every worker of both Envoys and names the leader", async () => {
  const leader = await agreedLeader(replicas, 10_000);
  // A replica killed by an earlier test stays listed until its lease runs out (LEASE_TTL_SECONDS).
  const settled = new RegExp(
    `^revision \\d+: ${WORKERS}/${WORKERS} proxies, halted: no, leader: ${leader.name}, replicas: 3\\n$`,
  );
  for (const replica of replicas) {
    const run = await eventually(
      () => hfi(["status"], { command: [HFI_BIN], env: { HFI_CONTROL_PLANE_ADDR: replica.url } }),
      (r) => settled.test(r.stdout),
      10_000,
    );
    expect(run.stdout).toMatch(settled);
  }
}, 60_000);

test("apply --wait through any replica waits for every worker, and names the laggards on timeout", async () => {
  for (const [i, replica] of replicas.entries()) {
    const env = { HFI_CONTROL_PLANE_ADDR: replica.url };
    const run = await hfi(["policy", "apply", "--wait=20s", "-f", "-"], {
      command: [HFI_BIN],
      env,
      stdin: JSON.stringify(policyOf("waited", 100_000 + i)),
    });
    expect(run.stderr).toBe("");
    expect(run.stdout).toMatch(new RegExp(`applied by ${WORKERS}/${WORKERS} proxies in `));
  }

  // A frozen Envoy keeps its workers listed (their last polls were held) but applies nothing.
  const frozen = envoys[1] as LocalStack;
  process.kill(frozen.pids.envoy, "SIGSTOP");
  try {
    const run = await hfi(["policy", "apply", "--wait=2s", "-f", "-"], {
      command: [HFI_BIN],
      env: { HFI_CONTROL_PLANE_ADDR: replicas[0]?.url as string },
      stdin: JSON.stringify(policyOf("waited", 200_000)),
    });
    expect(run.code).toBe(1);
    const [headline, ...laggards] = run.stderr.trimEnd().split("\n");
    expect(headline).toMatch(
      new RegExp(
        `^error: timed out after 2\\.\\d\\ds: revision \\d+ applied by 3/${WORKERS} proxies; not by:$`,
      ),
    );
    expect(laggards).toHaveLength(3);
    const names = new Set(replicas.map((r) => r.name));
    for (const line of laggards) {
      const [, node, via] = /^ {2}(\S+?)\/\S+: at revision \d+, .* via replica (\S+)$/.exec(line) ?? [];
      expect(node).toBe("envoy-2");
      expect(names.has(via as string)).toBe(true);
    }
  } finally {
    process.kill(frozen.pids.envoy, "SIGCONT");
  }
}, 60_000);
