/**
 * An experiment whose replica dies: two `dist/hfi serve --store etcd` replicas on a real etcd, a real
 * Envoy 1.40 polling the leader, an experiment started on the leader, and the leader killed with
 * SIGKILL while the faults run. The faults still end at the experiment's `endsAt`: the filter ends
 * them by its own clock, cut off from any control plane, and the surviving replica — leader now —
 * deletes the expired policy from the store. The experiment's record lived in the dead replica's
 * memory: the survivor does not know it (docs/API_REFERENCE.md, "Experiments").
 * Requires `npm run build`, scripts/setup.sh and etcd. Figures go to stdout as `[failover] …` lines.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FleetStatus } from "../../src/api-types.ts";
import { createClient } from "../../src/client/index.ts";
import type { PolicyInput } from "../../src/policy/index.ts";
import { startTestEtcd, type TestEtcd } from "../support/etcd.ts";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";
import { policy } from "../support/policies.ts";
import { freePorts } from "../support/ports.ts";
import { type HfiReplica, startHfiReplica } from "../support/replicas.ts";
import { send } from "../support/requests.ts";

const LEASE_TTL_SECONDS = 3;

type Replica = HfiReplica;

let etcd: TestEtcd;
let replicas: Replica[] = [];
let envoy: LocalStack | undefined;
const logDir = mkdtempSync(join(tmpdir(), "hfi-failover-"));

const startReplica = (port: number) =>
  startHfiReplica({
    port,
    store: { type: "etcd", endpoints: [etcd.endpoint] },
    logDir,
    leaseTtlSeconds: LEASE_TTL_SECONDS,
  });

async function leaderOf(of: Replica[]): Promise<Replica> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const statuses = await Promise.all(
      of.map((r) => fetch(`${r.url}/v1/status`).then((res) => res.json() as Promise<FleetStatus>)),
    );
    const leader = of.find((r) => statuses.every((s) => s.leader === r.name));
    if (leader) return leader;
    if (Date.now() > deadline) throw new Error(`no agreed leader: ${JSON.stringify(statuses)}`);
    await Bun.sleep(100);
  }
}

beforeAll(async () => {
  etcd = await startTestEtcd();
  const [a, b] = await freePorts(2);
  replicas = [await startReplica(a!), await startReplica(b!)];
}, 60_000);
afterAll(async () => {
  await envoy?.stop();
  for (const r of replicas) r.proc.kill("SIGKILL");
  await etcd?.stop();
  rmSync(logDir, { recursive: true, force: true });
});

const report = (line: string) => console.log(`[failover] ${line}`);

test("the leader running an experiment is killed: the faults still end at endsAt", async () => {
  const leader = await leaderOf(replicas);
  const survivor = replicas.find((r) => r !== leader)!;
  envoy = await startLocalStack({ concurrency: 2, controlPlanePort: leader.port });
  const client = createClient({ baseUrl: leader.url, timeoutMs: 10_000 });
  const { experiment } = await client.startExperiment({
    name: "failover",
    duration: "6s",
    policies: [
      policy("fo", {
        match: { path: { prefix: "/fo/" } },
        fault: { abort: { httpStatus: 503 } },
      }) as unknown as PolicyInput,
    ],
  });
  const applied = `fo-${experiment.id}`;
  const endsAt = Date.parse(experiment.endsAt!);
  // The faults reach Envoy, then the leader dies mid-experiment.
  const deadline = Date.now() + 10_000;
  while ((await send(envoy.envoyUrl, "/fo/x")).fault !== applied) {
    if (Date.now() > deadline) throw new Error("the faults never reached Envoy");
  }
  leader.proc.kill("SIGKILL");
  const killedAt = Date.now();
  let lastFault = killedAt;
  let firstPass: number | undefined;
  let streak = 0;
  while (streak < 20) {
    if (Date.now() > endsAt + 15_000) throw new Error("the faults did not end");
    const answer = await send(envoy.envoyUrl, "/fo/x");
    if (answer.fault === applied) {
      lastFault = Date.now();
      streak = 0;
      firstPass = undefined;
    } else {
      expect(answer.status).toBe(200);
      firstPass ??= Date.now();
      streak++;
    }
  }
  report(
    `leader killed ${((endsAt - killedAt) / 1000).toFixed(1)} s before endsAt; last fault ${lastFault - endsAt} ms ` +
      `and first pass ${firstPass! - endsAt} ms from endsAt, by the filter's own clock`,
  );
  // The survivor leads now and deleted the expired policy; the experiment's record died with the leader.
  const survivorClient = createClient({ baseUrl: survivor.url, timeoutMs: 10_000 });
  const until = Date.now() + 15_000;
  while ((await survivorClient.listPolicies()).items.length > 0) {
    if (Date.now() > until) throw new Error("the survivor kept the expired policy");
    await Bun.sleep(200);
  }
  expect((await leaderOf([survivor])).name).toBe(survivor.name);
  await expect(survivorClient.getExperiment(experiment.id)).rejects.toMatchObject({ code: "NotFound" });
}, 90_000);
