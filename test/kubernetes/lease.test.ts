/**
 * Leader election through a coordination.k8s.io/v1 Lease on a real kube-apiserver, between
 * candidates in processes of their own: one leads; a kill -9 of the leader hands the Lease to the
 * other once it runs out, a SIGTERM at once. Each candidate knows who holds it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { createKubeClient, kubeconfigConnection } from "../../src/kubernetes/client.ts";
import { startLeaseElection } from "../../src/kubernetes/lease.ts";
import { startTestKubeApiServer, type TestKubeApiServer } from "../support/kube-apiserver.ts";

const CANDIDATE = join(import.meta.dir, "fixtures/candidate.ts");
let kube: TestKubeApiServer;
const children: Subprocess[] = [];

beforeAll(async () => {
  kube = await startTestKubeApiServer();
}, 180_000);

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await kube?.stop();
});

function candidate(namespace: string, identity: string): Subprocess {
  const child = Bun.spawn([process.execPath, CANDIDATE, kube.kubeconfig, namespace, identity], {
    stdout: "ignore",
    stderr: "inherit",
  });
  children.push(child);
  return child;
}

async function holder(namespace: string): Promise<string | undefined> {
  const result = await kube.kubectl(["get", "lease", "hfi-leader", "-n", namespace, "-o", "json"]);
  if (result.exitCode !== 0) return undefined;
  return JSON.parse(result.stdout).spec.holderIdentity || undefined;
}

/** Waits until the Lease's holder is one of `among`; returns it and how long that took. */
async function heldBy(namespace: string, among: string[], limitMs = 20_000) {
  const start = performance.now();
  while (performance.now() - start < limitMs) {
    const current = await holder(namespace);
    if (current && among.includes(current)) return { identity: current, ms: performance.now() - start };
    await Bun.sleep(100);
  }
  throw new Error(`no holder among ${among} within ${limitMs} ms (holder: ${await holder(namespace)})`);
}

test.each([
  ["SIGKILL", "a kill -9 of the leader hands the Lease to the other once it runs out"],
  ["SIGTERM", "a SIGTERM of the leader releases the Lease and the other takes it"],
] as const)(
  "%s: %s",
  async (signal) => {
    const namespace = await kube.createNamespace("lease");
    const processes = { a: candidate(namespace, "a"), b: candidate(namespace, "b") };
    const first = await heldBy(namespace, ["a", "b"]);
    // The follower stays a follower while the leader renews.
    await Bun.sleep(4000);
    expect(await holder(namespace)).toBe(first.identity);

    const other = first.identity === "a" ? "b" : "a";
    processes[first.identity as "a" | "b"].kill(signal);
    const next = await heldBy(namespace, [other]);
    console.log(`failover after ${signal}: ${Math.round(next.ms)} ms (lease duration 3 s)`);
    expect(next.identity).toBe(other);
  },
  60_000,
);

test("each candidate knows who holds the Lease: itself while it leads, the other while that one renews it", async () => {
  const namespace = await kube.createNamespace("holder");
  const client = createKubeClient(kubeconfigConnection(kube.kubeconfig));
  const a = startLeaseElection({ client, namespace, identity: "a", leaseDurationSeconds: 2 });
  const b = startLeaseElection({ client, namespace, identity: "b", leaseDurationSeconds: 2 });
  const until = async (condition: () => boolean) => {
    const deadline = Date.now() + 20_000;
    while (!condition() && Date.now() < deadline) await Bun.sleep(50);
    expect(condition()).toBe(true);
  };
  try {
    await until(() => a.isLeader() || b.isLeader());
    const [leader, follower] = a.isLeader() ? [a, b] : [b, a];
    expect(leader.holder()).toBe(leader.identity);
    await until(() => follower.holder() === leader.identity);
    expect(await holder(namespace)).toBe(leader.identity);
    await leader.close();
    await until(() => follower.isLeader());
    expect([follower.holder(), await holder(namespace)]).toEqual([follower.identity, follower.identity]);
  } finally {
    await a.close();
    await b.close();
  }
}, 60_000);
