import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createConsola } from "consola";
import { Etcd3 } from "etcd3";
import { startTestEtcd, type TestEtcd } from "../../test/support/etcd.ts";
import type { Policy } from "../policy/index.ts";
import { describeStoreContract, expectCode } from "./contract.ts";
import { createEtcdStore, type EtcdStore, type EtcdStoreOptions } from "./etcd.ts";
import type { WatchEvent } from "./types.ts";

const quiet = createConsola({ level: -999 });
let etcd: TestEtcd;
let raw: Etcd3;

beforeAll(async () => {
  etcd = await startTestEtcd();
  raw = new Etcd3({ hosts: etcd.endpoint });
});

afterAll(async () => {
  raw.close();
  await etcd.stop();
});

/** A store on a prefix no other test uses, so every test starts empty. */
function openStore(options: Partial<EtcdStoreOptions> = {}): Promise<EtcdStore> {
  return createEtcdStore({
    endpoints: [etcd.endpoint],
    prefix: `t-${crypto.randomUUID().slice(0, 8)}/`,
    logger: quiet,
    onWatcherError: () => {},
    ...options,
  });
}

// Quiet: the contract suite registers throwing listeners on purpose.
describeStoreContract(
  "etcd",
  () => openStore(),
  (store) => store.close(),
);

function policy(name: string, httpStatus = 503): Policy {
  return {
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: { name },
    spec: { priority: 0, fault: { percentage: 100, abort: { httpStatus, body: "" } } },
  };
}

describe("etcd store", () => {
  test("a policy is JSON at <prefix>policies/<name>; its resourceVersion is the key's mod revision", async () => {
    const store = await openStore({ prefix: "layout/", now: () => new Date("2025-01-02T03:04:05.000Z") });
    try {
      const created = await store.create(policy("a"));
      const entry = (await raw.get("layout/policies/a").exec()).kvs[0];
      expect(created.metadata.resourceVersion).toBe(entry?.mod_revision as string);
      expect(JSON.parse(entry?.value.toString() ?? "")).toEqual({
        ...policy("a"),
        metadata: { name: "a", creationTimestamp: "2025-01-02T03:04:05.000Z", generation: 1 },
      });
      const { revision } = await store.list();
      const header = (await raw.get("anything").exec()).header;
      expect(revision).toBe(Number(header.revision));
    } finally {
      await raw.delete().prefix("layout/").exec();
      await store.close();
    }
  });

  test("the default prefix is hfi/", async () => {
    const store = await createEtcdStore({ endpoints: [etcd.endpoint], logger: quiet });
    try {
      await store.create(policy("default-prefix"));
      expect(await raw.get("hfi/policies/default-prefix").exists()).toBe(true);
    } finally {
      await raw.delete().prefix("hfi/").exec();
      await store.close();
    }
  });

  test("two clients on one prefix see each other's writes and events, with the same revisions", async () => {
    const a = await openStore({ prefix: "shared/" });
    const b = await openStore({ prefix: "shared/" });
    try {
      const events: WatchEvent[] = [];
      b.watch((e) => {
        events.push(e);
      });
      const created = await a.create(policy("x"));
      await expectCode(b.create(policy("x")), "AlreadyExists");
      expect(await b.get("x")).toEqual(created);
      await Bun.sleep(50);
      expect(events).toEqual([
        { type: "put", policy: created, revision: Number(created.metadata.resourceVersion) },
      ]);
      expect((await a.list()).revision).toBe((await b.list()).revision);
    } finally {
      await raw.delete().prefix("shared/").exec();
      await a.close();
      await b.close();
    }
  });

  test("concurrent updates of one policy through two clients each take a generation", async () => {
    const a = await openStore({ prefix: "race/" });
    const b = await openStore({ prefix: "race/" });
    try {
      await a.create(policy("x", 500));
      const writes = Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? a : b).createOrUpdate(policy("x", 501 + i)),
      );
      const results = await Promise.all(writes);
      const generations = results.map((r) => r.policy.metadata.generation).sort((x, y) => x - y);
      expect(generations).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect((await a.get("x")).metadata.generation).toBe(11);
    } finally {
      await raw.delete().prefix("race/").exec();
      await a.close();
      await b.close();
    }
  });

  test("an unreachable etcd is Unavailable, at once", async () => {
    const started = performance.now();
    await expectCode(
      createEtcdStore({ endpoints: ["http://127.0.0.1:9"], logger: quiet, requestTimeoutMs: 1000 }),
      "Unavailable",
    );
    expect(performance.now() - started).toBeLessThan(3000);
  });
});
