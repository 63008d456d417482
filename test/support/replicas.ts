/** `dist/hfi serve --store etcd` replicas for the fleet tests and benchmarks. */
import { hostname } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { HFI_BIN } from "./paths.ts";
import { type Spawned, spawnLogged, waitForUrl } from "./process.ts";

export interface EtcdReplica {
  url: string;
  port: number;
  /** `<hostname>-<pid>`, as the replica names itself in `/v1/status`. */
  name: string;
  proc: Subprocess;
  spawned: Spawned;
}

/** Starts a replica on `port` and resolves once it is ready; its log goes to `logDir`. */
export async function startEtcdReplica(options: {
  port: number;
  etcdEndpoints: readonly string[];
  logDir: string;
  /** `--lease-ttl` in seconds; the server's default (10 s) when left out. */
  leaseTtlSeconds?: number;
}): Promise<EtcdReplica> {
  const { port, etcdEndpoints, logDir, leaseTtlSeconds } = options;
  const url = `http://127.0.0.1:${port}`;
  const spawned = spawnLogged(
    [
      HFI_BIN,
      "serve",
      "--listen",
      `127.0.0.1:${port}`,
      "--store",
      "etcd",
      "--etcd-endpoints",
      etcdEndpoints.join(","),
      ...(leaseTtlSeconds === undefined ? [] : ["--lease-ttl", `${leaseTtlSeconds}s`]),
      "--log-level",
      "warn",
    ],
    // A replica restarted on its port gets a log of its own.
    join(logDir, `hfi-${port}-${Date.now()}.log`),
  );
  await waitForUrl(`${url}/readyz`, spawned);
  return { url, port, name: `${hostname()}-${spawned.proc.pid}`, proc: spawned.proc, spawned };
}
