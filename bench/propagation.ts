/**
 * Propagation (bench/README.md, propagation and fan-out): the real `dist/hfi serve` (memory store) and several real Envoys
 * with the filter (deploy/envoy/envoy.yaml, ports patched), several workers each. For every change,
 * the time from sending the policy PUT to the first faulted response on *every* worker of every
 * Envoy, and likewise from the DELETE to the first healthy response.
 *
 * Each worker runs its own filter VM and long-poll, so each is probed separately: a keep-alive
 * connection lives on one worker, and Envoy's per-worker listener stat
 * (`listener.<address>.worker_<n>.downstream_cx_total`) tells which worker accepted a new connection.
 * Connections are opened until one is pinned to every worker; every worker is then probed on its own
 * connection, about once a millisecond.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEnvoy } from "../test/support/envoy.ts";
import { renderEnvoyConfig } from "../test/support/local-stack.ts";
import { HFI_BIN } from "../test/support/paths.ts";
import { policy } from "../test/support/policies.ts";
import { freePort } from "../test/support/ports.ts";
import { type Spawned, spawnLogged, terminate, waitForUrl } from "../test/support/process.ts";
import { machine } from "./machine.ts";
import { type BenchContext, type BenchResult, percentile, valueRow } from "./report.ts";
import { everyWorker, type PinnedWorker, pinWorkers } from "./workers.ts";

const ENVOYS = 2;
const WORKERS = 2;
const PROBE_PATH = "/bench/probe";
const POLICY = JSON.stringify(
  policy("bench-abort", { match: { path: { prefix: "/bench" } }, fault: { abort: { httpStatus: 503 } } }),
);

interface Worker extends PinnedWorker {
  envoy: number;
  worker: number;
}

interface Change {
  index: number;
  /** PUT or DELETE request → its answer. */
  apiMs: number;
  /** From sending the API request to each worker's first response showing the change. */
  perWorkerMs: Record<string, number>;
  /** The last worker: the change is everywhere. */
  allMs: number;
  /** The first worker. */
  firstMs: number;
}

export async function propagation(ctx: BenchContext): Promise<BenchResult> {
  const changes = ctx.quick ? 5 : 50;
  const dir = mkdtempSync(join(tmpdir(), "hfi-bench-propagation-"));
  const commands: string[] = [];
  const children: Spawned[] = [];
  const upstream = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok\n") });
  const workers: Worker[] = [];
  const applied: Change[] = [];
  const removed: Change[] = [];
  try {
    const cpPort = await freePort();
    const hfi = spawnLogged([HFI_BIN, "serve", "--listen", `127.0.0.1:${cpPort}`], join(dir, "hfi.log"));
    children.push(hfi);
    commands.push(hfi.command);
    const cp = `http://127.0.0.1:${cpPort}`;
    await waitForUrl(`${cp}/healthz`, hfi);

    for (let e = 0; e < ENVOYS; e++) {
      const [envoyPort, adminPort] = [await freePort(), await freePort()];
      const configFile = join(dir, `envoy-${e}.yaml`);
      writeFileSync(
        configFile,
        renderEnvoyConfig({ envoyPort, adminPort, cpPorts: [cpPort], upstreamPort: upstream.port ?? 0 }),
      );
      const envoy = await startEnvoy({
        configFile,
        logFile: join(dir, `envoy-${e}.log`),
        adminPort,
        concurrency: WORKERS,
      });
      children.push(envoy);
      commands.push(envoy.command);
      const admin = `http://127.0.0.1:${adminPort}`;
      for (const [worker, connection] of await pinWorkers(envoyPort, admin, WORKERS)) {
        workers.push({ label: `envoy${e}/worker${worker}`, envoy: e, worker, connection });
      }
    }
    // Every worker healthy before the first change (the filters' first polls are answered at once).
    await everyWorker(workers, PROBE_PATH, 200, performance.now());

    const policyUrl = `${cp}/v1/policies/bench-abort`;
    for (let i = 0; i < changes; i++) {
      let start = performance.now();
      const put = await fetch(policyUrl, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: POLICY,
      });
      await put.arrayBuffer();
      if (put.status !== 201 && put.status !== 200) throw new Error(`PUT answered ${put.status}`);
      applied.push(change(i, performance.now() - start, await everyWorker(workers, PROBE_PATH, 503, start)));

      start = performance.now();
      const del = await fetch(policyUrl, { method: "DELETE" });
      await del.arrayBuffer();
      if (!del.ok) throw new Error(`DELETE answered ${del.status}`);
      removed.push(change(i, performance.now() - start, await everyWorker(workers, PROBE_PATH, 200, start)));
    }
  } finally {
    for (const w of workers) w.connection.close();
    await Promise.all(children.map((c) => terminate(c.proc)));
    upstream.stop(true);
    rmSync(dir, { recursive: true, force: true });
  }

  const all = (cs: Change[]) => cs.map((c) => c.allMs);
  const first = (cs: Change[]) => cs.map((c) => c.firstMs);
  const api = (cs: Change[]) => cs.map((c) => c.apiMs);
  const where = `${ENVOYS} Envoys × ${WORKERS} workers`;
  return {
    params: { changes, envoys: ENVOYS, workersPerEnvoy: WORKERS, probePath: PROBE_PATH, machine: machine() },
    commands,
    samples: { applied, removed },
    rows: [
      valueRow(`PUT → first 503 on every worker (${where}), p50`, percentile(all(applied), 50), "ms"),
      valueRow(
        `PUT → first 503 on every worker (${where}), p99`,
        percentile(all(applied), 99),
        "ms",
        {
          op: "<=",
          bound: 50,
        },
        `max ${Math.max(...all(applied)).toFixed(1)} ms over ${changes} changes`,
      ),
      valueRow("PUT → first 503 on the first worker, p50", percentile(first(applied), 50), "ms"),
      valueRow("PUT request → answer, p50", percentile(api(applied), 50), "ms"),
      valueRow(`DELETE → first 200 on every worker (${where}), p50`, percentile(all(removed), 50), "ms"),
      valueRow(`DELETE → first 200 on every worker (${where}), p99`, percentile(all(removed), 99), "ms", {
        op: "<=",
        bound: 50,
      }),
    ],
    notes: [
      `Timed from sending the PUT/DELETE (the API answer is included) to the first byte of the first response showing the change, per worker; each worker probed on its own keep-alive connection about once per ms (resolution ≈ 1 ms). ${changes} changes, each a PUT then a DELETE.`,
      "Everything (hfi serve, 2 Envoys with 2 workers each, the prober, the upstream) shares the 2 cores.",
    ],
  };
}

function change(index: number, apiMs: number, perWorkerMs: Record<string, number>): Change {
  const values = Object.values(perWorkerMs);
  return { index, apiMs, perWorkerMs, allMs: Math.max(...values), firstMs: Math.min(...values) };
}
