/**
 * The leader's expiry clean-up on a real etcd, with two sweepers at once — what a brief overlap of
 * an old and a new leader looks like: each timed policy goes once, at its expiry, and one written
 * again meanwhile stays.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createConsola } from "consola";
import { Etcd3 } from "etcd3";
import { startTestEtcd, type TestEtcd } from "../../test/support/etcd.ts";
import { policy } from "../../test/support/policies.ts";
import type { Policy } from "../policy/index.ts";
import { openStore, type WatchEvent } from "../store/index.ts";
import { etcdDeleteIfUnchanged, startExpirySweeper } from "./expiry.ts";

const silent = createConsola({ level: -999 });
let etcd: TestEtcd;

beforeAll(async () => {
  etcd = await startTestEtcd();
});
afterAll(async () => {
  await etcd.stop();
});

const timed = (name: string, duration: string) =>
  ({ ...policy(name), spec: { ...policy(name).spec, duration } }) as Policy;

test("two sweepers at once delete each expired policy once, and never one written again since", async () => {
  const prefix = "sweep/";
  const store = await openStore(
    { type: "etcd", endpoints: [etcd.endpoint], prefix },
    { logger: silent, onWatcherError: () => {}, onError: () => {} },
  );
  const client = new Etcd3({ hosts: etcd.endpoint });
  const events: WatchEvent[] = [];
  const unwatch = store.watch((event) => {
    events.push(event);
  });
  // A clock 1 s behind makes each sweep wait a second past expiresAt: time to write "renewed" again.
  const late = () => Date.now() - 1000;
  const sweepers = [0, 1].map(() =>
    startExpirySweeper({
      store,
      deleteIfUnchanged: etcdDeleteIfUnchanged(client.namespace(prefix)),
      logger: silent,
      now: late,
    }),
  );
  try {
    await store.createOrUpdate(timed("once", "1s"));
    const renewed = await store.createOrUpdate(timed("renewed", "1s"));
    await Bun.sleep(900);
    // Written again just before its expiry: a sweep of the version it read must not delete it.
    await store.createOrUpdate({ ...timed("renewed", "60s"), metadata: renewed.policy.metadata });
    await Bun.sleep(1800);
    const deletes = events
      .filter((e) => e.type === "delete")
      .map((e) => ("policy" in e ? e.policy.metadata.name : ""));
    expect(deletes).toEqual(["once"]);
    expect((await store.list()).items.map((p) => p.metadata.name)).toEqual(["renewed"]);
  } finally {
    for (const stop of sweepers) stop();
    unwatch();
    client.close();
    await store.close();
  }
}, 30_000);

test("the conditional delete applies only to the version it names, and only once", async () => {
  const prefix = "conditional/";
  const store = await openStore(
    { type: "etcd", endpoints: [etcd.endpoint], prefix },
    { logger: silent, onWatcherError: () => {}, onError: () => {} },
  );
  const client = new Etcd3({ hosts: etcd.endpoint });
  const deleteIfUnchanged = etcdDeleteIfUnchanged(client.namespace(prefix));
  try {
    const first = await store.createOrUpdate(timed("p", "60s"));
    const second = await store.createOrUpdate(timed("p", "60s"));
    expect(await deleteIfUnchanged("p", first.policy.metadata.resourceVersion)).toBe(false);
    expect((await store.get("p")).metadata.resourceVersion).toBe(second.policy.metadata.resourceVersion);
    expect(await deleteIfUnchanged("p", second.policy.metadata.resourceVersion)).toBe(true);
    expect(await deleteIfUnchanged("p", second.policy.metadata.resourceVersion)).toBe(false);
    expect((await store.list()).items).toEqual([]);
  } finally {
    client.close();
    await store.close();
  }
});
