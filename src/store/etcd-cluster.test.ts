/**
 * The store on a 3-member etcd cluster: one member down leaves a quorum, and the store keeps
 * working through the other two.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createConsola } from "consola";
import { startTestEtcdCluster, type TestEtcdCluster } from "../../test/support/etcd.ts";
import { policy } from "../../test/support/policies.ts";
import type { Policy } from "../policy/index.ts";
import { openStore } from "./config.ts";

const silent = createConsola({ level: -999 });
let etcd: TestEtcdCluster;

beforeAll(async () => {
  etcd = await startTestEtcdCluster(3);
}, 30_000);
afterAll(async () => {
  await etcd.stop();
});

test("with one follower of three down, writes go to the others: at most the first to the dead one fails", async () => {
  const store = await openStore(
    { type: "etcd", endpoints: etcd.endpoints, prefix: "cluster/" },
    { logger: silent, onWatcherError: () => {}, onError: () => {} },
  );
  try {
    // A follower: the cluster keeps its leader, so no election stands in the way of writes.
    const leader = await etcd.leader();
    await (etcd.members.find((m) => m !== leader) as { kill(): Promise<void> }).kill();
    const failures: string[] = [];
    for (let i = 0; i < 30; i++) {
      await store.createOrUpdate(policy(`p${i}`) as Policy).catch((err: Error) => failures.push(err.message));
    }
    // Calls pick a member at random; the dead one fails a call, then is passed over for 2 s.
    expect(failures.length).toBeLessThanOrEqual(2);
    expect((await store.list()).items).toHaveLength(30 - failures.length);
  } finally {
    await store.close();
  }
}, 30_000);
