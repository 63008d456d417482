/**
 * Fan-out (bench/README.md, propagation and fan-out): N simulated filters long-polling the real `dist/hfi serve`
 * (`GET /v1/config?after=REV&wait=60`, one keep-alive connection each, client addresses spread over
 * 127.0.0.1–127.0.0.8 so the ephemeral port range never runs out), then one policy PUT; the time
 * from the PUT to each subscriber's first response byte, for N = 100, 1,000, 10,000, and the
 * control plane's RSS per held connection. A fresh server per N.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HFI_BIN } from "../test/support/paths.ts";
import { putPolicy } from "../test/support/policies.ts";
import { freePort } from "../test/support/ports.ts";
import { spawnLogged, terminate, waitForUrl } from "../test/support/process.ts";
import { Http1Connection, type Http1Response } from "./http1.ts";
import { cpuMicros, memoryKiB, openFds } from "./machine.ts";
import { type BenchContext, type BenchResult, type BenchRow, percentile, valueRow } from "./report.ts";

export const CLIENT_ADDRESSES = 8;
export const CONNECT_BATCH = 250;

interface FanoutRun {
  subscribers: number;
  baselineRssKiB: number;
  heldRssKiB: number;
  rssPerConnectionKiB: number;
  connectMs: number;
  putMs: number;
  /** ms from sending the PUT to each subscriber's first response byte. */
  updateMs: number[];
  statuses: Record<string, number>;
  nofile: string;
}

export async function fanout(ctx: BenchContext): Promise<BenchResult> {
  const sizes = [100, 1000, 10_000];
  const commands: string[] = [];
  const runs: FanoutRun[] = [];
  for (const n of sizes) {
    console.log(`  ${n} subscribers`);
    runs.push(await runFanout(n, commands));
  }
  const rows: BenchRow[] = [];
  for (const run of runs) {
    const n = run.subscribers.toLocaleString("en");
    const all = Math.max(...run.updateMs);
    rows.push(
      valueRow(
        `${n} subscribers: all updated (PUT → last subscriber)`,
        all,
        "ms",
        run.subscribers === 10_000 ? { op: "<=", bound: 1000 } : undefined,
        `p50 ${percentile(run.updateMs, 50).toFixed(1)} ms, p99 ${percentile(run.updateMs, 99).toFixed(1)} ms; PUT answered in ${run.putMs.toFixed(1)} ms`,
      ),
      valueRow(
        `${n} subscribers: RSS per held connection`,
        run.rssPerConnectionKiB,
        "KiB",
        run.subscribers === 10_000 ? { op: "<=", bound: 16 } : undefined,
        `${(run.baselineRssKiB / 1024).toFixed(1)} → ${(run.heldRssKiB / 1024).toFixed(1)} MiB`,
      ),
    );
  }
  return {
    params: { sizes, clientAddresses: CLIENT_ADDRESSES, connectBatch: CONNECT_BATCH, quick: ctx.quick },
    commands: [...new Set(commands)],
    samples: { runs },
    rows,
    notes: [
      "Subscribers are raw HTTP/1.1 connections from the bench process (Bun, node:net), one long-poll each, as the filter sends it; the server is the real dist/hfi serve with the memory store. Client and server share the machine's 2 cores, so the client's own processing of 10k responses is part of the figure.",
      "RSS per connection = (server RSS with N polls held − RSS before connecting) ÷ N, after the server's CPU went idle.",
    ],
  };
}

async function runFanout(n: number, commands: string[]): Promise<FanoutRun> {
  const dir = mkdtempSync(join(tmpdir(), "hfi-bench-fanout-"));
  const port = await freePort();
  // Raise the soft open-file limit to the hard one for the server (each held poll is a socket).
  const hfi = spawnLogged(
    [
      "bash",
      "-c",
      `ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`,
      HFI_BIN,
      "serve",
      "--listen",
      `127.0.0.1:${port}`,
    ],
    join(dir, "hfi.log"),
  );
  commands.push(`${HFI_BIN} serve --listen 127.0.0.1:${port} (ulimit -n raised to the hard limit)`);
  const base = `http://127.0.0.1:${port}`;
  const connections: Http1Connection[] = [];
  try {
    await waitForUrl(`${base}/healthz`, hfi);
    const nofile =
      (await Bun.file(`/proc/${hfi.proc.pid}/limits`).text())
        .split("\n")
        .find((l) => l.startsWith("Max open files"))
        ?.replace(/\s+/g, " ")
        .trim() ?? "";
    const initial = await fetch(`${base}/v1/config`);
    const revision = Number(((await initial.json()) as { revision: number }).revision);
    // Let start-up garbage settle before the baseline.
    for (let i = 0; i < 20; i++) await (await fetch(`${base}/v1/config`)).arrayBuffer();
    Bun.gc(true);
    await quiet(hfi.proc.pid);
    const baselineRssKiB = memoryKiB(hfi.proc.pid).rss;

    const connectStart = performance.now();
    const polls: Promise<Http1Response>[] = [];
    for (let i = 0; i < n; i += CONNECT_BATCH) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(CONNECT_BATCH, n - i) }, (_, j) =>
          Http1Connection.connect({
            host: "127.0.0.1",
            port,
            localAddress: `127.0.0.${1 + ((i + j) % CLIENT_ADDRESSES)}`,
          }),
        ),
      );
      for (const c of batch) {
        connections.push(c);
        polls.push(c.request(`/v1/config?after=${revision}&wait=60`));
      }
    }
    const connectMs = performance.now() - connectStart;
    const deadline = Date.now() + 60_000;
    while (openFds(hfi.proc.pid) < n && Date.now() < deadline) await Bun.sleep(50);
    await quiet(hfi.proc.pid);
    const heldRssKiB = memoryKiB(hfi.proc.pid).rss;

    const putStart = performance.now();
    const put = await putPolicy(base, "fanout", {
      match: { path: { prefix: "/fanout" } },
      fault: { abort: { httpStatus: 503 } },
    });
    const putMs = performance.now() - putStart;
    if (put.status !== 201 && put.status !== 200) throw new Error(`PUT answered ${put.status}`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const responses = await Promise.race([
      Promise.all(polls),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`not every one of ${n} subscribers was answered within 45 s`)),
          45_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    const statuses: Record<string, number> = {};
    for (const r of responses) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    if ((statuses["200"] ?? 0) !== n) throw new Error(`answers: ${JSON.stringify(statuses)}`);
    return {
      subscribers: n,
      baselineRssKiB,
      heldRssKiB,
      rssPerConnectionKiB: (heldRssKiB - baselineRssKiB) / n,
      connectMs,
      putMs,
      updateMs: responses.map((r) => r.firstByteAt - putStart),
      statuses,
      nofile,
    };
  } finally {
    for (const c of connections) c.close();
    await terminate(hfi.proc);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Waits until `pid` used no CPU for two consecutive 250 ms windows (at most 10 s). */
export async function quiet(pid: number): Promise<void> {
  let still = 0;
  let last = cpuMicros(pid);
  for (let i = 0; i < 40 && still < 2; i++) {
    await Bun.sleep(250);
    const now = cpuMicros(pid);
    still = now - last < 20_000 ? still + 1 : 0;
    last = now;
  }
}
