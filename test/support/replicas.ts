/** `dist/hfi serve` replicas on a shared store, for the fleet tests and benchmarks. */
import { hostname } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { HFI_BIN } from "./paths.ts";
import { type Spawned, spawnLogged, waitForUrl } from "./process.ts";

export interface HfiReplica {
  url: string;
  port: number;
  /** `<hostname>-<pid>`, as the replica names itself in `/v1/status` and in the leader Lease. */
  name: string;
  proc: Subprocess;
  spawned: Spawned;
}

export type ReplicaStore =
  | { type: "etcd"; endpoints: readonly string[] }
  | { type: "kubernetes"; kubeconfig: string; namespace: string };

/** Starts a replica on `port` and resolves once it is ready (one that never is, is killed); its log goes to `logDir`. */
export async function startHfiReplica(options: {
  port: number;
  store: ReplicaStore;
  logDir: string;
  /** `--lease-ttl` in seconds; the server's default (10 s) when left out. */
  leaseTtlSeconds?: number;
  extraArgs?: string[];
}): Promise<HfiReplica> {
  const { port, store, logDir, leaseTtlSeconds, extraArgs = [] } = options;
  const url = `http://127.0.0.1:${port}`;
  const storeArgs =
    store.type === "etcd"
      ? ["--store", "etcd", "--etcd-endpoints", store.endpoints.join(",")]
      : ["--store", "kubernetes", "--kubeconfig", store.kubeconfig, "--namespace", store.namespace];
  const spawned = spawnLogged(
    [
      HFI_BIN,
      "serve",
      "--listen",
      `127.0.0.1:${port}`,
      ...storeArgs,
      ...(leaseTtlSeconds === undefined ? [] : ["--lease-ttl", `${leaseTtlSeconds}s`]),
      "--log-level",
      "warn",
      ...extraArgs,
    ],
    // A replica restarted on its port gets a log of its own.
    join(logDir, `hfi-${port}-${Date.now()}.log`),
  );
  try {
    await waitForUrl(`${url}/readyz`, spawned);
  } catch (err) {
    spawned.proc.kill();
    throw err;
  }
  return { url, port, name: `${hostname()}-${spawned.proc.pid}`, proc: spawned.proc, spawned };
}
