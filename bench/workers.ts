/**
 * Probing every Envoy worker separately: one keep-alive connection pinned to each worker (found
 * through Envoy's per-worker listener stats), polled until each shows a change.
 */
import { Http1Connection } from "./http1.ts";

export interface PinnedWorker {
  label: string;
  connection: Http1Connection;
}

/** Probes every worker on `path` until it answers `status`; ms from `start` to that response, per worker. */
export async function everyWorker(
  workers: PinnedWorker[],
  path: string,
  status: number,
  start: number,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  await Promise.all(
    workers.map(async (w) => {
      for (;;) {
        const res = await w.connection.request(path);
        if (res.status === status) {
          out[w.label] = res.firstByteAt - start;
          return;
        }
        if (performance.now() - start > 10_000) throw new Error(`${w.label}: no ${status} within 10 s`);
        await Bun.sleep(1);
      }
    }),
  );
  return out;
}

/** Opens connections to `port` until one is known to live on each of `workers` workers. */
export async function pinWorkers(
  port: number,
  admin: string,
  workers: number,
): Promise<Map<number, Http1Connection>> {
  const pinned = new Map<number, Http1Connection>();
  for (let attempt = 0; attempt < 100 * workers && pinned.size < workers; attempt++) {
    const before = await workerConnections(admin, port);
    const connection = await Http1Connection.connect({ host: "127.0.0.1", port });
    await connection.request("/pin");
    const after = await workerConnections(admin, port);
    const grew = [...after].filter(([w, n]) => n > (before.get(w) ?? 0)).map(([w]) => w);
    const worker = grew[0];
    if (grew.length === 1 && worker !== undefined && !pinned.has(worker)) pinned.set(worker, connection);
    else connection.close();
  }
  if (pinned.size < workers) throw new Error(`could not reach all ${workers} workers on port ${port}`);
  return pinned;
}

/** Per-worker accepted-connection counters of the listener on `port`. */
async function workerConnections(admin: string, port: number): Promise<Map<number, number>> {
  const text = await (await fetch(`${admin}/stats?filter=worker_.*downstream_cx_total`)).text();
  const out = new Map<number, number>();
  const pattern = new RegExp(
    `^listener\\.127\\.0\\.0\\.1_${port}\\.worker_(\\d+)\\.downstream_cx_total: (\\d+)$`,
    "gm",
  );
  for (const m of text.matchAll(pattern)) out.set(Number(m[1]), Number(m[2]));
  return out;
}
