/**
 * Control-plane API throughput (bench/README.md, control plane), for the memory and the etcd store: PUT rate
 * (updates of 1,000 stored policies) and GET list at 1,000 policies. A real `hfi serve` process on
 * loopback, a real etcd; the load comes from this process with a fixed number of connections, each
 * phase bounded in time. Per-core figures divide requests by the CPU seconds the hfi process (and
 * for etcd, the etcd process) spent in the phase, which survives sharing the machine's 2 cores.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestEtcd, type TestEtcd } from "../test/support/etcd.ts";
import { ROOT } from "../test/support/paths.ts";
import { putPolicy as put } from "../test/support/policies.ts";
import { freePort } from "../test/support/ports.ts";
import { spawnLogged, terminate, waitForUrl } from "../test/support/process.ts";
import { type BenchContext, type BenchRow, percentile, roundsRow } from "./report.ts";

const POLICIES = 1000;

interface Phase {
  requests: number;
  errors: number;
  seconds: number;
  hfiCpuSeconds: number;
  etcdCpuSeconds: number;
  latenciesMs: number[];
}

export async function apiThroughput(ctx: BenchContext) {
  const params = {
    policies: POLICIES,
    rounds: ctx.quick ? 1 : 3,
    phaseSeconds: ctx.quick ? 2 : 5,
    putConnections: 16,
    listConnections: 4,
    logLevel: "info (request lines to /dev/null)",
  };
  const commands: string[] = [];
  const samples: Record<string, number[]> = {};
  const rows: BenchRow[] = [];
  for (const store of ["memory", "etcd"] as const) {
    const etcd = store === "etcd" ? await startTestEtcd() : undefined;
    const hfi = await startHfi(store, etcd);
    commands.push(hfi.command, ...(etcd ? [`/usr/bin/etcd (test/support/etcd.ts) at ${etcd.endpoint}`] : []));
    try {
      await fill(hfi.url);
      const put: Phase[] = [];
      const list: Phase[] = [];
      for (let round = 0; round < params.rounds; round++) {
        put.push(
          await measure(hfi.pid, etcd, params.phaseSeconds, params.putConnections, (i) =>
            putPolicy(hfi.url, i),
          ),
        );
        list.push(
          await measure(hfi.pid, etcd, params.phaseSeconds, params.listConnections, () => getList(hfi.url)),
        );
      }
      for (const [name, phases] of [
        ["PUT", put],
        ["GET list", list],
      ] as const) {
        const key = `${store}.${name === "PUT" ? "put" : "list"}`;
        const rps = phases.map((p) => p.requests / p.seconds);
        const perCore = phases.map((p) => p.requests / p.hfiCpuSeconds);
        const latencies = phases.flatMap((p) => p.latenciesMs);
        samples[`${key}.rps`] = rps;
        samples[`${key}.perHfiCore`] = perCore;
        samples[`${key}.errors`] = phases.map((p) => p.errors);
        rows.push(roundsRow(`${store}: ${name} requests/s (wall, 2 shared cores)`, rps, "req/s"));
        rows.push(roundsRow(`${store}: ${name} per hfi core`, perCore, "req/CPU-s"));
        if (etcd) {
          const perEtcd = phases.map((p) => p.requests / p.etcdCpuSeconds);
          samples[`${key}.perEtcdCore`] = perEtcd;
          rows.push(roundsRow(`${store}: ${name} per etcd core`, perEtcd, "req/CPU-s"));
        }
        rows.push(roundsRow(`${store}: ${name} latency p99`, [percentile(latencies, 99)], "ms"));
      }
    } finally {
      await hfi.stop();
      await etcd?.stop();
    }
  }
  return {
    params,
    commands,
    samples,
    rows,
    notes: [
      `PUT updates one of ${POLICIES} stored policies per request (a new spec each time: never a no-op); GET lists all ${POLICIES}.`,
      "Per-core = requests ÷ CPU seconds (utime+stime from /proc) of that process during the phase.",
    ],
  };
}

async function startHfi(store: "memory" | "etcd", etcd: TestEtcd | undefined) {
  // The sources, not dist/hfi: a bench run straight after a change must not measure a stale build.
  const bin = [process.execPath, join(ROOT, "src/cli/main.ts")];
  const port = await freePort();
  const args = [...bin, "serve", `--listen=127.0.0.1:${port}`, `--store=${store}`];
  if (etcd) args.push(`--etcd-endpoints=${etcd.endpoint}`, "--etcd-prefix=bench/");
  const dir = mkdtempSync(join(tmpdir(), "hfi-bench-api-"));
  const hfi = spawnLogged(args, join(dir, "hfi.log"));
  const url = `http://127.0.0.1:${port}`;
  await waitForUrl(`${url}/readyz`, hfi, 10_000);
  return {
    url,
    pid: hfi.proc.pid,
    command: hfi.command,
    async stop() {
      await terminate(hfi.proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function fill(url: string): Promise<void> {
  for (let i = 0; i < POLICIES; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, j) => putPolicy(url, i + j).then((r) => r.arrayBuffer())),
    );
  }
}

function putPolicy(url: string, i: number): Promise<Response> {
  const name = `bench-${i % POLICIES}`;
  return put(url, name, {
    priority: i % 100,
    match: { path: { prefix: `/bench/${i % POLICIES}` }, method: { exact: "POST" } },
    fault: { percentage: 50, abort: { httpStatus: 500 + (i % 100), body: `bench ${i}` } },
  });
}

const getList = (url: string) => fetch(`${url}/v1/policies`);

/** Runs `connections` request loops for `seconds`; each loop stops by itself at the deadline. */
async function measure(
  hfiPid: number,
  etcd: TestEtcd | undefined,
  seconds: number,
  connections: number,
  send: (i: number) => Promise<Response>,
): Promise<Phase> {
  const latenciesMs: number[] = [];
  let requests = 0;
  let errors = 0;
  let next = Math.floor(Math.random() * POLICIES);
  const cpuBefore = [cpuSeconds(hfiPid), cpuSeconds(etcd?.pid())];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        const res = await send(next++);
        await res.arrayBuffer();
        latenciesMs.push(performance.now() - t);
        if (res.ok) requests += 1;
        else errors += 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return {
    requests,
    errors,
    seconds: elapsed,
    hfiCpuSeconds: cpuSeconds(hfiPid) - (cpuBefore[0] ?? 0),
    etcdCpuSeconds: cpuSeconds(etcd?.pid()) - (cpuBefore[1] ?? 0),
    latenciesMs,
  };
}

/** utime + stime of a process, in seconds (Linux /proc; clock ticks of 1/100 s). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
