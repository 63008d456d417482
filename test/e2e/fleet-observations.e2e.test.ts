/**
 * Observations across replicas end to end: a real etcd, two `dist/hfi serve --store etcd`
 * replicas, and two real Envoys 1.40 (2 workers each) with a real upstream, one Envoy polling and
 * reporting to the leader, the other to the other replica. An experiment started on the leader
 * counts the traffic through both Envoys exactly, and its stop condition fires on traffic the leader
 * never received a report of: it comes through the other replica's published totals. When the
 * other replica is killed, what it counted keeps counting after its lease expired.
 * Requires `npm run build`, scripts/setup.sh and etcd. Figures go to stdout as `[fleet-observations] …` lines.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import type { FleetStatus } from "../../src/api-types.ts";
import { createClient, type HfiClient } from "../../src/client/index.ts";
import type { Experiment } from "../../src/experiments/index.ts";
import type { PolicyInput } from "../../src/policy/index.ts";
import { startTestEtcd, type TestEtcd } from "../support/etcd.ts";
import { eventually } from "../support/eventually.ts";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";
import { policy } from "../support/policies.ts";
import { freePorts } from "../support/ports.ts";
import { type HfiReplica, startHfiReplica } from "../support/replicas.ts";
import { type Sent, send } from "../support/requests.ts";

/** 2 Envoys × (2 workers + the main thread). */
const WORKERS = 6;

interface Replica extends HfiReplica {
  client: HfiClient;
}

let etcd: TestEtcd;
let replicas: Replica[] = [];
let leader: Replica;
let other: Replica;
/** Envoy polling and reporting to the leader, and the one polling and reporting to the other replica. */
let viaLeader: LocalStack;
let viaOther: LocalStack;
const logDir = mkdtempSync(join(tmpdir(), "hfi-fleet-observations-"));

const report = (line: string) => console.log(`[fleet-observations] ${line}`);

async function startReplica(port: number): Promise<Replica> {
  const replica = await startHfiReplica({
    port,
    store: { type: "etcd", endpoints: [etcd.endpoint] },
    logDir,
    leaseTtlSeconds: 3,
  });
  return { ...replica, client: createClient({ baseUrl: replica.url, timeoutMs: 10_000 }) };
}

beforeAll(async () => {
  etcd = await startTestEtcd();
  const ports = (await freePorts(2)) as [number, number];
  replicas = await Promise.all(ports.map(startReplica));
  const statuses = await eventually(
    () =>
      Promise.all(
        replicas.map((r) => fetch(`${r.url}/v1/status`).then((res) => res.json() as Promise<FleetStatus>)),
      ),
    (s) => s.every((x) => x.leader !== null && x.leader === s[0]?.leader),
  );
  leader = replicas.find((r) => r.name === statuses[0]?.leader) as Replica;
  other = replicas.find((r) => r !== leader) as Replica;
  [viaLeader, viaOther] = await Promise.all([
    startLocalStack({ concurrency: 2, nodeId: "envoy-1", controlPlanePort: leader.port }),
    startLocalStack({ concurrency: 2, nodeId: "envoy-2", controlPlanePort: other.port }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([viaLeader, viaOther].map((e) => e?.stop()));
  for (const r of replicas) r.proc.kill("SIGKILL");
  await Promise.all(replicas.map((r) => r.proc.exited));
  await etcd?.stop();
  rmSync(logDir, { recursive: true, force: true });
});

/**
 * Until every worker of both Envoys, whichever replica it polls, has rules newer than `before`
 * (the leader serves a store change a moment after it answered the write).
 */
async function everyWorkerCurrent(before: string): Promise<void> {
  await eventually(
    () => leader.client.getProxies(),
    (s) => s.id !== before && s.proxies.filter((p) => p.live && p.ruleSetId === s.id).length === WORKERS,
  );
}

/** The identity of the rules the leader serves now. */
const servedId = async () => (await leader.client.getProxies()).id;

/** The first test's experiment and what its results counted. */
let counted: { id: string; running: Record<string, unknown> } | undefined;

async function until(id: string, ok: (e: Experiment) => boolean): Promise<Experiment> {
  return eventually(() => leader.client.getExperiment(id), ok);
}

test("an experiment on the leader counts the traffic through both Envoys, each reporting to another replica, exactly", async () => {
  const before = await servedId();
  const { experiment } = await leader.client.startExperiment({
    name: "fleet-counts",
    duration: "120s",
    policies: [
      policy("half-down", {
        match: { path: { prefix: "/status/" } },
        fault: { abort: { httpStatus: 503 }, percentage: 50 },
      }) as unknown as PolicyInput,
    ],
  });
  const applied = `half-down-${experiment.id}`;
  await everyWorkerCurrent(before);
  // Upstream answers 200, 404 or 500; the filter aborts about half of them with 503.
  const paths = ["/status/200", "/status/404", "/status/500"];
  const sent: Sent[] = [];
  for (const [stack, n] of [
    [viaLeader, 45],
    [viaOther, 60],
  ] as const) {
    for (let i = 0; i < n; i++) sent.push(await send(stack.envoyUrl, paths[i % paths.length] as string));
  }
  const statusCounts: Record<string, number> = {};
  for (const s of sent) statusCounts[s.status] = (statusCounts[s.status] ?? 0) + 1;
  const injected = sent.filter((s) => s.fault === applied).length;
  expect(injected).toBeGreaterThan(0);
  expect(injected).toBeLessThan(sent.length);

  const results = await eventually(
    () => leader.client.getExperimentResults(experiment.id),
    (r) => r.phases.running?.requests === sent.length,
  );
  expect(results.phases.running).toMatchObject({ requests: 105, injected, statusCounts });
  // Any replica shows the same fleet-wide totals of the applied policy.
  for (const replica of [leader, other]) {
    const observed = await eventually(
      () => replica.client.getObservation(applied),
      (o) => o.matched === sent.length,
    );
    expect(observed.summary).toMatchObject({ requests: 105, injected, statusCounts });
  }
  report(
    `${sent.length} requests (45 via the leader's Envoy, 60 via the other's): ${injected} injected, ` +
      `statuses ${JSON.stringify(statusCounts)}, all in the leader's results`,
  );
  await leader.client.stopExperiment(experiment.id);
  counted = { id: experiment.id, running: { requests: 105, injected, statusCounts } };
}, 90_000);

test("a stop condition on the leader fires on traffic reported only to the other replica; the faults end", async () => {
  const threshold = 5;
  const before = await servedId();
  const { experiment } = await leader.client.startExperiment({
    name: "fleet-stop",
    duration: "120s",
    stopConditions: [{ metric: "injected", threshold, for: "0s" }],
    policies: [
      policy("far-down", {
        match: { path: { prefix: "/far/" } },
        fault: { abort: { httpStatus: 503 } },
      }) as unknown as PolicyInput,
    ],
  });
  const applied = `far-down-${experiment.id}`;
  await everyWorkerCurrent(before);
  // Traffic only through the Envoy that reports to the other replica, until the faults are off (an
  // answer before the first fault is one from a worker that had no time to apply the rules yet).
  let injected = 0;
  let crossed: number | undefined;
  let faultsOff: number | undefined;
  const deadline = performance.now() + 30_000;
  while (faultsOff === undefined && performance.now() < deadline) {
    const answer = await send(viaOther.envoyUrl, "/far/x");
    if (answer.fault === applied) {
      injected += 1;
      if (injected === threshold + 1) crossed = answer.at + answer.ms;
    } else if (injected > 0) {
      expect(answer.status).toBe(200);
      faultsOff = answer.at;
    }
  }
  expect(crossed).toBeDefined();
  expect(faultsOff).toBeDefined();
  const stopped = await until(experiment.id, (e) => e.state !== "Running");
  expect(stopped).toMatchObject({ state: "Stopped", reason: `stopCondition injected>${threshold} for 0s` });
  // The leader received no report of this policy: its figures came from the other replica.
  const results = await eventually(
    () => leader.client.getExperimentResults(experiment.id),
    (r) => r.phases.running?.injected === injected,
  );
  expect(results.phases.running?.statusCounts).toEqual({ "503": injected });
  report(
    `stop condition crossed (the ${threshold + 1}th injected fault answered) → faults off in the other ` +
      `replica's Envoy: ${(faultsOff! - crossed!).toFixed(0)} ms (${injected} faults injected; default ` +
      `report interval 1 s, replica totals published at most once a second, evaluation every 250 ms)`,
  );
}, 60_000);

test("a replica killed with SIGKILL: once its lease expired, what it counted still counts on the leader", async () => {
  expect(counted).toBeDefined();
  const { id, running } = counted as NonNullable<typeof counted>;
  other.proc.kill("SIGKILL");
  await other.proc.exited;
  // Its observation key goes when its lease (3 s) expires.
  const client = new Etcd3({ hosts: etcd.endpoint });
  try {
    await eventually(
      () => client.getAll().prefix(`hfi/replica-observations/${other.name}/`).keys(),
      (keys) => keys.length === 0,
    );
  } finally {
    client.close();
  }
  await Bun.sleep(500);
  expect((await leader.client.getExperimentResults(id)).phases.running).toMatchObject(running);
}, 30_000);
