/**
 * Halt latency (the big red button): the real stack of test/support/local-stack.ts — `dist/hfi serve`
 * (memory store), the real Envoy with the filter and several workers, a sample upstream. An abort
 * policy is in force on every worker; then, for every round, the time from sending `POST /v1/halt`
 * to the first response *without* the fault on every worker, and from `DELETE /v1/halt` to the
 * fault again. Besides, when the control plane had confirmed that every worker acknowledged the
 * halt's revision (`GET /v1/status/proxies`, what `hfi halt --wait` waits for).
 *
 * Each worker runs its own filter VM and long-poll, so each is probed on a keep-alive connection
 * pinned to it (Envoy's per-worker listener stats tell which worker accepted a connection), about
 * once a millisecond.
 */

import type { ProxiesStatus } from "../src/api-types.ts";
import { hasApplied } from "../src/client/propagation.ts";
import { startLocalStack } from "../test/support/local-stack.ts";
import { HFI_BIN } from "../test/support/paths.ts";
import { policy } from "../test/support/policies.ts";
import { machine } from "./machine.ts";
import { type BenchContext, type BenchResult, percentile, valueRow } from "./report.ts";
import { everyWorker, type PinnedWorker, pinWorkers } from "./workers.ts";

const WORKERS = 4;
const PROBE_PATH = "/bench/halt";
const POLICY = JSON.stringify(
  policy("bench-halt", { match: { path: { prefix: "/bench" } }, fault: { abort: { httpStatus: 503 } } }),
);

interface Round {
  index: number;
  /** POST /v1/halt → its answer. */
  apiMs: number;
  /** From sending the halt to each worker's first response without the fault. */
  perWorkerMs: Record<string, number>;
  /** The last worker: nothing is injected anywhere. */
  allMs: number;
  /** From sending the halt to the status showing every worker acknowledged its revision. */
  confirmedMs: number;
  /** From sending DELETE /v1/halt to the fault on every worker again. */
  resumeAllMs: number;
}

export async function halt(ctx: BenchContext): Promise<BenchResult> {
  const rounds = ctx.quick ? 5 : 50;
  const stack = await startLocalStack({ concurrency: WORKERS });
  const workers: PinnedWorker[] = [];
  const samples: Round[] = [];
  try {
    const envoyPort = Number(new URL(stack.envoyUrl).port);
    for (const [worker, connection] of await pinWorkers(envoyPort, stack.adminUrl, WORKERS)) {
      workers.push({ label: `worker${worker}`, connection });
    }
    const cp = stack.controlPlaneUrl;
    const put = await fetch(`${cp}/v1/policies/bench-halt`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: POLICY,
    });
    await put.arrayBuffer();
    if (!put.ok) throw new Error(`PUT answered ${put.status}`);
    await everyWorker(workers, PROBE_PATH, 503, performance.now());

    for (let i = 0; i < rounds; i++) {
      const start = performance.now();
      const confirmed = confirmation(cp);
      const res = await fetch(`${cp}/v1/halt`, { method: "POST", body: JSON.stringify({ reason: "bench" }) });
      const { revision } = (await res.json()) as { revision: number };
      if (res.status !== 201) throw new Error(`POST /v1/halt answered ${res.status}`);
      const apiMs = performance.now() - start;
      confirmed.revision(revision);
      const perWorkerMs = await everyWorker(workers, PROBE_PATH, 200, start);
      const confirmedMs = (await confirmed.done) - start;

      const resumeStart = performance.now();
      const resumed = await fetch(`${cp}/v1/halt`, { method: "DELETE" });
      await resumed.arrayBuffer();
      if (!resumed.ok) throw new Error(`DELETE /v1/halt answered ${resumed.status}`);
      const resumeAll = Math.max(...Object.values(await everyWorker(workers, PROBE_PATH, 503, resumeStart)));
      const values = Object.values(perWorkerMs);
      samples.push({
        index: i,
        apiMs,
        perWorkerMs,
        allMs: Math.max(...values),
        confirmedMs,
        resumeAllMs: resumeAll,
      });
    }
  } finally {
    for (const w of workers) w.connection.close();
    await stack.stop();
  }

  const pick = (f: (r: Round) => number) => samples.map(f);
  const all = pick((r) => r.allMs);
  const where = `1 Envoy × ${WORKERS} workers`;
  return {
    params: { rounds, workers: WORKERS, probePath: PROBE_PATH, machine: machine() },
    commands: [
      `${HFI_BIN} serve (test/support/local-stack.ts)`,
      `envoy --concurrency ${WORKERS} (test/support/local-stack.ts)`,
    ],
    samples: { rounds: samples },
    rows: [
      valueRow(`POST /v1/halt → no fault on any worker (${where}), p50`, percentile(all, 50), "ms"),
      valueRow(
        `POST /v1/halt → no fault on any worker (${where}), p99`,
        percentile(all, 99),
        "ms",
        { op: "<=", bound: 50 },
        `max ${Math.max(...all).toFixed(1)} ms over ${rounds} halts`,
      ),
      valueRow(
        "POST /v1/halt → answer, p50",
        percentile(
          pick((r) => r.apiMs),
          50,
        ),
        "ms",
      ),
      valueRow(
        "POST /v1/halt → every worker's ack in /v1/status/proxies (hfi halt --wait), p50",
        percentile(
          pick((r) => r.confirmedMs),
          50,
        ),
        "ms",
      ),
      valueRow(
        `DELETE /v1/halt → fault again on every worker, p50`,
        percentile(
          pick((r) => r.resumeAllMs),
          50,
        ),
        "ms",
      ),
    ],
    notes: [
      `Timed from sending the halt to the first byte of each worker's first response without the fault; each worker probed on its own keep-alive connection about once per ms (resolution ≈ 1 ms). ${rounds} halts, each followed by a resume.`,
      "The acknowledgement is seen when a worker's next long-poll asks for the halt's revision, so it trails the worker's own switch by one poll round trip; the status is read every 2 ms.",
      "Everything (hfi serve, Envoy and its workers, the prober, the upstream) shares the machine's cores.",
    ],
  };
}

/** Resolves `done` (with performance.now()) once the status shows every live worker at `revision`. */
function confirmation(cp: string): { revision(n: number): void; done: Promise<number> } {
  let target: number | undefined;
  const done = (async () => {
    const deadline = performance.now() + 10_000;
    for (;;) {
      if (target !== undefined) {
        const status = (await (await fetch(`${cp}/v1/status/proxies`)).json()) as ProxiesStatus;
        const live = status.proxies.filter((p) => p.live);
        const wanted = target;
        if (live.length >= WORKERS && live.every((p) => hasApplied(p, wanted, status))) {
          return performance.now();
        }
      }
      if (performance.now() > deadline)
        throw new Error("the halt was not acknowledged by every worker within 10 s");
      await Bun.sleep(2);
    }
  })();
  return {
    revision: (n) => {
      target = n;
    },
    done,
  };
}
