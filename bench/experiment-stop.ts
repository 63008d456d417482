/**
 * Stop condition → faults off (bench/README.md, experiment-stop): how long after the traffic
 * crosses an experiment's stop condition the faults are gone from Envoy. Each experiment aborts
 * every request of a path and stops on `injected > 0 for 0s`; one client sends requests in a row
 * through Envoy (2 workers, the filter's default report interval of 1 s), from the first faulted
 * answer (the condition is crossed) to the first answer that is not faulted (the faults are off).
 * The traffic of the i-th of n experiments starts i/n of a report interval after the start, so that
 * the crossings fall at every phase of the filter's report timer.
 *
 * - one replica: `dist/hfi serve` (memory store), Envoy polling and reporting to it;
 * - two replicas on etcd: the experiment on the leader, Envoy polling and reporting to the other
 *   replica, so the leader learns of the traffic from that replica's published totals.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FleetStatus } from "../src/api-types.ts";
import { createClient, type HfiClient } from "../src/client/index.ts";
import type { PolicyInput } from "../src/policy/index.ts";
import { startTestEtcd } from "../test/support/etcd.ts";
import { type LocalStack, startLocalStack } from "../test/support/local-stack.ts";
import { policy } from "../test/support/policies.ts";
import { freePorts } from "../test/support/ports.ts";
import { terminate } from "../test/support/process.ts";
import { type HfiReplica, startHfiReplica } from "../test/support/replicas.ts";
import { send } from "../test/support/requests.ts";
import { type BenchContext, type BenchResult, percentile, valueRow } from "./report.ts";

/** The filter's default. */
const REPORT_INTERVAL_MS = 1000;

/** One experiment: stop condition crossed → faults off, and how many requests were faulted meanwhile. */
interface Stop {
  ms: number;
  faulted: number;
}

/** Runs `count` experiments one after the other through `client`, with traffic through `envoyUrl`. */
async function stops(client: HfiClient, envoyUrl: string, count: number): Promise<Stop[]> {
  const result: Stop[] = [];
  for (let i = 0; i < count; i++) {
    const { experiment } = await client.startExperiment({
      name: `stop-${i}`,
      duration: "60s",
      stopConditions: [{ metric: "injected", threshold: 0, for: "0s" }],
      policies: [
        policy("bench-stop", {
          match: { path: { prefix: "/bench/stop" } },
          fault: { abort: { httpStatus: 503 } },
        }) as unknown as PolicyInput,
      ],
    });
    const applied = `bench-stop-${experiment.id}`;
    // The filter's report timer is re-aimed when its rules change: traffic that starts right then is
    // reported a full interval later. A pause of i/count of an interval spreads the phases.
    await Bun.sleep((i * REPORT_INTERVAL_MS) / count);
    let crossed: number | undefined;
    let faulted = 0;
    const deadline = performance.now() + 30_000;
    for (;;) {
      if (performance.now() > deadline)
        throw new Error(`experiment ${experiment.id}: faults not off in 30 s`);
      const answer = await send(envoyUrl, "/bench/stop/x");
      if (answer.fault === applied) {
        crossed ??= answer.at + answer.ms;
        faulted += 1;
      } else if (crossed !== undefined) {
        result.push({ ms: answer.at - crossed, faulted });
        break;
      }
    }
    const ended = await client.getExperiment(experiment.id);
    if (ended.state !== "Stopped")
      throw new Error(`experiment ${experiment.id} is ${ended.state}, not Stopped`);
  }
  return result;
}

/** The replica every replica names as leader, and another. */
async function leaderAndOther(replicas: HfiReplica[]): Promise<[HfiReplica, HfiReplica]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const statuses = await Promise.all(
      replicas.map((r) => fetch(`${r.url}/v1/status`).then((res) => res.json() as Promise<FleetStatus>)),
    );
    const leading = replicas.findIndex((r) => statuses.every((x) => x.leader === r.name));
    if (leading !== -1) return [replicas[leading] as HfiReplica, replicas[1 - leading] as HfiReplica];
    if (Date.now() > deadline) throw new Error(`no agreed leader: ${JSON.stringify(statuses)}`);
    await Bun.sleep(100);
  }
}

export async function experimentStop(ctx: BenchContext): Promise<BenchResult> {
  const count = ctx.quick ? 2 : 10;
  const commands: string[] = [];

  const single = await startLocalStack({ concurrency: 2 });
  let one: Stop[];
  try {
    one = await stops(
      createClient({ baseUrl: single.controlPlaneUrl, timeoutMs: 10_000 }),
      single.envoyUrl,
      count,
    );
  } finally {
    await single.stop();
  }

  const etcd = await startTestEtcd();
  const logDir = mkdtempSync(join(tmpdir(), "hfi-bench-experiment-stop-"));
  const replicas: HfiReplica[] = [];
  let envoy: LocalStack | undefined;
  let two: Stop[];
  try {
    const ports = await freePorts(2);
    for (const port of ports) {
      replicas.push(
        await startHfiReplica({ port, store: { type: "etcd", endpoints: [etcd.endpoint] }, logDir }),
      );
    }
    commands.push(...replicas.map((r) => r.spawned.command));
    const [leader, other] = await leaderAndOther(replicas);
    envoy = await startLocalStack({ concurrency: 2, controlPlanePort: other.port });
    two = await stops(createClient({ baseUrl: leader.url, timeoutMs: 10_000 }), envoy.envoyUrl, count);
  } finally {
    await envoy?.stop();
    await Promise.all(replicas.map((r) => terminate(r.proc)));
    await etcd.stop();
    rmSync(logDir, { recursive: true, force: true });
  }

  const rows = (label: string, xs: Stop[]) => {
    const ms = xs.map((s) => s.ms);
    return [
      valueRow(`stop condition crossed → faults off, ${label}, p50`, percentile(ms, 50), "ms"),
      valueRow(
        `stop condition crossed → faults off, ${label}, max`,
        Math.max(...ms),
        "ms",
        undefined,
        `over ${ms.length}; requests faulted meanwhile, median ${percentile(
          xs.map((s) => s.faulted),
          50,
        )}`,
      ),
    ];
  };
  return {
    params: {
      experiments: count,
      reportIntervalMs: 1000,
      evaluateEveryMs: 250,
      stopCondition: "injected>0 for 0s",
    },
    commands,
    samples: { oneReplica: one, twoReplicas: two },
    rows: [...rows("one replica", one), ...rows("two replicas, traffic reported to the non-leader", two)],
    notes: [
      "Bound by what the path adds: the filter's report interval (1 s), the evaluation every 250 ms, and with two replicas the other replica's publish of its totals (at most one write a second) and the etcd watch that brings them to the leader; then the policy delete reaches Envoy like any change (propagation).",
      "One client sends requests in a row on fresh connections; everything shares the 2 cores.",
    ],
  };
}
