/**
 * Halt latency (the big red button): the real stack of test/support/local-stack.ts — `dist/hfi serve`
 * (memory store), the real Envoy with the filter and several workers, a sample upstream. An abort
 * policy is in force on every worker; then, for every round, the time from sending `POST /v1/halt`
 * to the first response *without* the fault on every worker, and from `DELETE /v1/halt` to the
 * fault again. Besides, when the control plane had confirmed that every worker acknowledged the
 * halt's revision (`GET /v1/status/proxies`, what `hfi halt --wait` waits for), and — with a second
 * policy holding requests for a minute — when the last request a delay held before the halt got
 * its answer (the filter releases them the moment the halted rule set arrives).
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
const HOLD_PATH = "/held";
/** Requests held by a delay when each halt is sent, on fresh connections spread over the workers. */
const HELD = 2 * WORKERS;
const POLICIES = {
  // A minute: any answer within a round is a release by the halt. Applied first, so a worker that
  // shows the abort (the later revision) has both.
  "bench-hold": policy("bench-hold", {
    match: { path: { prefix: HOLD_PATH } },
    fault: { delay: { fixedDelay: "60s" } },
  }),
  "bench-halt": policy("bench-halt", {
    match: { path: { prefix: "/bench" } },
    fault: { abort: { httpStatus: 503 } },
  }),
};

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
  /** From sending the halt to the answer of the last of the HELD requests a delay held. */
  releaseAllMs: number;
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
    for (const [name, body] of Object.entries(POLICIES)) {
      const put = await fetch(`${cp}/v1/policies/${name}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      await put.arrayBuffer();
      if (!put.ok) throw new Error(`PUT ${name} answered ${put.status}`);
    }
    await everyWorker(workers, PROBE_PATH, 503, performance.now());

    for (let i = 0; i < rounds; i++) {
      const held = Array.from({ length: HELD }, () => holdOne(stack.envoyUrl));
      await delaysActive(stack.adminUrl, HELD);
      const start = performance.now();
      const confirmed = confirmation(cp);
      const res = await fetch(`${cp}/v1/halt`, { method: "POST", body: JSON.stringify({ reason: "bench" }) });
      const { revision } = (await res.json()) as { revision: number };
      if (res.status !== 201) throw new Error(`POST /v1/halt answered ${res.status}`);
      const apiMs = performance.now() - start;
      confirmed.revision(revision);
      const perWorkerMs = await everyWorker(workers, PROBE_PATH, 200, start);
      const confirmedMs = (await confirmed.done) - start;
      const releaseAllMs = Math.max(...(await Promise.all(held))) - start;

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
        releaseAllMs,
      });
    }
  } finally {
    for (const w of workers) w.connection.close();
    await stack.stop();
  }

  const pick = (f: (r: Round) => number) => samples.map(f);
  const all = pick((r) => r.allMs);
  const released = pick((r) => r.releaseAllMs);
  const where = `1 Envoy × ${WORKERS} workers`;
  return {
    params: { rounds, workers: WORKERS, probePath: PROBE_PATH, held: HELD, machine: machine() },
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
        `POST /v1/halt → last held request released (${HELD} held), p50`,
        percentile(released, 50),
        "ms",
      ),
      valueRow(
        `POST /v1/halt → last held request released (${HELD} held), p99`,
        percentile(released, 99),
        "ms",
        { op: "<=", bound: 100 },
        `max ${Math.max(...released).toFixed(1)} ms over ${rounds} halts`,
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
      `Before each halt, ${HELD} requests on fresh connections (spread over the workers by Envoy) are held by a 60 s delay, counted in delays_active; the release is timed from sending the halt to the response headers of the last of them.`,
      "Everything (hfi serve, Envoy and its workers, the prober, the upstream) shares the machine's cores.",
    ],
  };
}

/** One request the delay policy holds; resolves with performance.now() when its answer's headers arrive. */
async function holdOne(envoyUrl: string): Promise<number> {
  const res = await fetch(`${envoyUrl}${HOLD_PATH}`, { headers: { connection: "close" } });
  const at = performance.now();
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`a held request was answered ${res.status}`);
  return at;
}

/** Waits until Envoy's workers together hold `count` requests (the gauge sums across workers). */
async function delaysActive(adminUrl: string, count: number): Promise<void> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const text = await (await fetch(`${adminUrl}/stats?filter=delays_active`)).text();
    const active = Number(/^wasmcustom\.hfi\.faults\.delays_active: (\d+)$/m.exec(text)?.[1]);
    if (active === count) return;
    if (performance.now() > deadline) throw new Error(`delays_active is ${active}, not ${count}`);
    await Bun.sleep(5);
  }
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
