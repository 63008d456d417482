import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createConsola } from "consola";
import { Etcd3 } from "etcd3";
import { startTestEtcd, type TestEtcd } from "../../test/support/etcd.ts";
import type { Policy } from "../policy/index.ts";
import { describeStoreContract, expectCode } from "./contract-suite.ts";
import { createEtcdStore, type EtcdStoreOptions } from "./etcd.ts";
import type { PolicyStore, WatchEvent } from "./types.ts";

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
function openStore(options: Partial<EtcdStoreOptions> = {}): Promise<PolicyStore> {
  return createEtcdStore({
    endpoints: [etcd.endpoint],
    prefix: `t-${crypto.randomUUID().slice(0, 8)}/`,
    logger: quiet,
    onWatcherError: () => {},
    ...options,
  });
}

// Quiet: the contract suite registers throwing listeners on purpose.
describeStoreContract("etcd", () => openStore());

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

  test("a policy with a duration is bound to a lease of that TTL; etcd deletes it with no store running", async () => {
    const store = await openStore({ prefix: "lease/" });
    try {
      const stored = await store.create({
        ...policy("timed"),
        spec: { ...policy("timed").spec, duration: "2s" },
      });
      const entry = (await raw.get("lease/policies/timed").exec()).kvs[0];
      expect(entry?.lease).not.toBe("0");
      const ttl = await raw.leaseClient.leaseTimeToLive({ ID: entry?.lease ?? "0" });
      expect(Number(ttl.grantedTTL)).toBe(2);
      expect(JSON.parse(entry?.value.toString() ?? "").status).toEqual(stored.status);
      await store.close();
      const started = Date.now();
      while (Date.now() - started < 6000 && (await raw.get("lease/policies/timed").exists()))
        await Bun.sleep(50);
      expect(await raw.get("lease/policies/timed").exists()).toBe(false);
    } finally {
      await raw.delete().prefix("lease/").exec();
      await store.close();
    }
  }, 10_000);

  test("re-applying a timed policy moves it to a new lease and revokes the old one", async () => {
    const store = await openStore({ prefix: "renew/" });
    try {
      const timed = { ...policy("timed"), spec: { ...policy("timed").spec, duration: "1h" } };
      await store.create(timed);
      const first = (await raw.get("renew/policies/timed").exec()).kvs[0]?.lease ?? "0";
      await store.createOrUpdate(timed);
      const second = (await raw.get("renew/policies/timed").exec()).kvs[0]?.lease ?? "0";
      expect(second).not.toBe(first);
      await Bun.sleep(100);
      expect(Number((await raw.leaseClient.leaseTimeToLive({ ID: first })).TTL)).toBe(-1);
      await store.createOrUpdate(policy("timed"));
      expect((await raw.get("renew/policies/timed").exec()).kvs[0]?.lease).toBe("0");
    } finally {
      await raw.delete().prefix("renew/").exec();
      await store.close();
    }
  });

  test("the halt is JSON at <prefix>halt, shared by every client on the prefix", async () => {
    const a = await openStore({ prefix: "halt/", now: () => new Date("2025-01-02T03:04:05.000Z") });
    const b = await openStore({ prefix: "halt/" });
    try {
      const events: WatchEvent[] = [];
      b.watch((e) => {
        events.push(e);
      });
      const { halt } = await a.halt({ reason: "incident", by: "alice" });
      const entry = (await raw.get("halt/halt").exec()).kvs[0];
      expect(JSON.parse(entry?.value.toString() ?? "")).toEqual({
        reason: "incident",
        by: "alice",
        since: "2025-01-02T03:04:05.000Z",
      });
      expect(halt.revision).toBe(Number(entry?.mod_revision));
      expect(await b.getHalt()).toEqual(halt);
      await expectCode(b.create(policy("x")), "Locked");
      await Bun.sleep(50);
      expect(events).toEqual([{ type: "halt", halt, revision: halt.revision }]);
      expect((await b.resume())?.lifted).toEqual(halt);
      expect(await a.getHalt()).toBeUndefined();
    } finally {
      await raw.delete().prefix("halt/").exec();
      await a.close();
      await b.close();
    }
  });

  test("a halt that lands between a writer's read and its write refuses the write", async () => {
    const store = await openStore({ prefix: "halt-race/" });
    try {
      // Many concurrent writes with a halt among them: none may succeed after the halt's revision.
      const writes = Array.from({ length: 20 }, (_, i) =>
        store.createOrUpdate(policy(`p${i}`)).then(
          (r) => Number(r.policy.metadata.resourceVersion),
          (e: { code?: string }) => e.code,
        ),
      );
      const { halt } = await store.halt({ reason: "race" });
      const outcomes = await Promise.all(writes);
      for (const outcome of outcomes) {
        if (typeof outcome === "number") expect(outcome).toBeLessThan(halt.revision);
        else expect(outcome).toBe("Locked");
      }
    } finally {
      await raw.delete().prefix("halt-race/").exec();
      await store.close();
    }
  });

  test("keys under the prefix that are neither a policy nor the halt are ignored", async () => {
    await raw.put("odd/hz-not-ours").value("x");
    await raw.put("odd/other").value("{}");
    const store = await openStore({ prefix: "odd/" });
    try {
      await store.create(policy("a"));
      await raw.put("odd/other").value("{}");
      expect((await store.state()).items.map((p) => p.metadata.name)).toEqual(["a"]);
      expect((await store.state()).halt).toBeUndefined();
    } finally {
      await raw.delete().prefix("odd/").exec();
      await store.close();
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
