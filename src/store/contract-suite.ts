import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { ErrorCode, HfiError } from "../errors.ts";
import type { Policy } from "../policy/index.ts";
import type { PolicyStore, WatchEvent } from "./types.ts";

/** How the suite lets time pass for a store: by its own clock, or by waiting. */
export interface ContractTime {
  /** Milliseconds since the epoch, by the store's clock. */
  now(): number;
  /** Lets `ms` pass by the store's clock. */
  advance(ms: number): Promise<void>;
}

/** The wall clock: for stores whose time runs elsewhere (etcd's leases). */
export const REAL_TIME: ContractTime = { now: () => Date.now(), advance: (ms) => Bun.sleep(ms) };

/**
 * The behaviour every PolicyStore must have. Run it from each implementation's test file with a
 * factory that returns an empty store, and the way its time passes; revisions are compared
 * relatively, never as absolute numbers. Each store is closed after its test.
 */
export function describeStoreContract(
  name: string,
  makeStore: () => PolicyStore | Promise<PolicyStore>,
  time: ContractTime = REAL_TIME,
): void {
  describe(`PolicyStore contract: ${name}`, () => {
    let store: PolicyStore;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    test("create sets the server-owned metadata", async () => {
      const before = time.now();
      const stored = await store.create(policy("a"));
      expect(stored.spec).toEqual(policy("a").spec);
      expect(stored.metadata.generation).toBe(1);
      expect(stored.metadata.resourceVersion).toMatch(/^\d+$/);
      expect(Date.parse(stored.metadata.creationTimestamp)).toBeGreaterThanOrEqual(before - 1000);
      expect(await store.get("a")).toEqual(stored);
    });

    test("create refuses a taken name and a client resourceVersion", async () => {
      await store.create(policy("a"));
      await expectCode(store.create(policy("a", 404)), "AlreadyExists");
      await expectCode(store.create(withVersion(policy("b"), "1")), "InvalidInput");
    });

    test("a policy is in the store's namespace; another one is refused, naming the field, and nothing is stored", async () => {
      // The suite runs on stores of one namespace; a store of every namespace has its own tests.
      expect(store.namespaces.all).toBe(false);
      const { home } = store.namespaces;
      const stored = await store.create(policy("a"));
      expect(stored.metadata.namespace).toBe(home);
      expect(await store.get("a", home)).toEqual(stored);
      const inHome = { ...policy("b"), metadata: { name: "b", namespace: home } };
      expect((await store.createOrUpdate(inHome)).policy.metadata.namespace).toBe(home);
      const elsewhere = { ...policy("c"), metadata: { name: "c", namespace: `not-${home}` } };
      for (const write of [store.create(elsewhere), store.createOrUpdate(elsewhere)]) {
        const err = await write.then(
          () => undefined,
          (e: unknown) => e as HfiError,
        );
        expect(err?.code).toBe("InvalidInput");
        expect(err?.details.map((d) => d.path)).toEqual(["metadata.namespace"]);
      }
      for (const read of [store.get("a", `not-${home}`), store.delete("a", `not-${home}`)]) {
        const err = await read.then(
          () => undefined,
          (e: unknown) => e as HfiError,
        );
        expect(err?.details.map((d) => d.path)).toEqual(["namespace"]);
      }
      const { items } = await store.list();
      expect(items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual([
        `${home}/a`,
        `${home}/b`,
      ]);
    });

    test("get and delete of a missing policy are NotFound", async () => {
      await expectCode(store.get("missing"), "NotFound");
      await expectCode(store.delete("missing"), "NotFound");
    });

    test("createOrUpdate reports created, then updated with generation and version bumped", async () => {
      const first = await store.createOrUpdate(policy("a", 500));
      expect(first.created).toBe(true);
      const second = await store.createOrUpdate(policy("a", 503));
      expect(second.created).toBe(false);
      expect(second.policy.spec.fault.abort?.httpStatus).toBe(503);
      expect(second.policy.metadata.generation).toBe(2);
      expect(second.policy.metadata.creationTimestamp).toBe(first.policy.metadata.creationTimestamp);
      expect(revisionOf(second.policy)).toBeGreaterThan(revisionOf(first.policy));
    });

    test("an unchanged spec is a no-op", async () => {
      const first = await store.createOrUpdate(policy("a"));
      const events = collect(store);
      const again = await store.createOrUpdate(policy("a"));
      expect(again).toEqual({ policy: first.policy, created: false });
      expect((await store.list()).revision).toBe(revisionOf(first.policy));
      await settle();
      expect(events).toEqual([]);
    });

    test("resourceVersion gives optimistic concurrency", async () => {
      const { policy: v1 } = await store.createOrUpdate(policy("a", 500));
      const { policy: v2 } = await store.createOrUpdate(
        withVersion(policy("a", 502), v1.metadata.resourceVersion),
      );
      await expectCode(
        store.createOrUpdate(withVersion(policy("a", 503), v1.metadata.resourceVersion)),
        "Conflict",
      );
      await expectCode(store.createOrUpdate(withVersion(policy("new"), "1")), "Conflict");
      expect(await store.get("a")).toEqual(v2);
    });

    test("delete returns the deleted policy and removes it", async () => {
      const stored = await store.create(policy("a"));
      expect(await store.delete("a")).toEqual(stored);
      await expectCode(store.get("a"), "NotFound");
      expect((await store.list()).items).toEqual([]);
    });

    test("list is sorted by name and every change takes a new revision", async () => {
      const empty = (await store.list()).revision;
      await store.create(policy("b"));
      await store.create(policy("a"));
      const afterCreates = await store.list();
      expect(afterCreates.items.map((p) => p.metadata.name)).toEqual(["a", "b"]);
      expect(afterCreates.revision).toBeGreaterThan(empty);
      await store.delete("b");
      expect((await store.list()).revision).toBeGreaterThan(afterCreates.revision);
    });

    test("returned objects are copies", async () => {
      const stored = await store.create(policy("a", 500));
      const { abort } = stored.spec.fault;
      if (abort) abort.httpStatus = 599;
      const [listed] = (await store.list()).items;
      if (listed) listed.spec.priority = 7;
      (await store.get("a")).spec.fault.percentage = 1;
      expect((await store.get("a")).spec).toEqual(policy("a", 500).spec);
    });

    test("watch delivers every change in order, with its revision", async () => {
      const events = collect(store);
      const created = await store.create(policy("a", 500));
      const { policy: updated } = await store.createOrUpdate(policy("a", 503));
      await store.delete("a");
      const { revision } = await store.list();
      await settle();
      expect(events.map((e) => [e.type, policyOf(e).spec.fault.abort?.httpStatus])).toEqual([
        ["put", 500],
        ["put", 503],
        ["delete", 503],
      ]);
      expect(events.map((e) => e.revision)).toEqual([revisionOf(created), revisionOf(updated), revision]);
    });

    test("a throwing or never-finishing listener blocks neither writers nor other listeners", async () => {
      store.watch(() => {
        throw new Error("listener bug");
      });
      store.watch(() => new Promise<void>(() => {}));
      const events = collect(store);
      await store.create(policy("a"));
      await store.create(policy("b"));
      await settle();
      expect(events.map((e) => policyOf(e).metadata.name)).toEqual(["a", "b"]);
    });

    test("no events after unsubscribing", async () => {
      const events: WatchEvent[] = [];
      const unsubscribe = store.watch((e) => {
        events.push(e);
      });
      await store.create(policy("a"));
      unsubscribe();
      await store.create(policy("b"));
      await settle();
      expect(events).toEqual([]);
    });

    test("ping resolves", async () => {
      await store.ping();
    });

    test("a status sent by the client is ignored; without a duration there is none", async () => {
      const sent = { ...policy("a"), status: { expiresAt: "2000-01-01T00:00:00.000Z" } };
      expect((await store.create(sent)).status).toBeUndefined();
      expect(
        (await store.createOrUpdate({ ...sent, spec: { ...sent.spec, priority: 1 } })).policy.status,
      ).toBe(undefined);
      expect((await store.get("a")).status).toBeUndefined();
    });

    test("a duration sets status.expiresAt to the time of the write plus the duration", async () => {
      const before = time.now();
      const stored = await store.create(timed("a", "1h"));
      const expiresAt = Date.parse(stored.status?.expiresAt ?? "");
      expect(expiresAt).toBeGreaterThanOrEqual(before + 3_600_000 - 1000);
      expect(expiresAt).toBeLessThanOrEqual(time.now() + 3_600_000 + 1000);
      expect(await store.get("a")).toEqual(stored);
      expect((await store.list()).items).toEqual([stored]);
    });

    test("writing an unchanged policy with a duration restarts its clock: new revision, same generation", async () => {
      const { policy: first } = await store.createOrUpdate(timed("a", "1h"));
      await time.advance(20);
      const events = collect(store);
      const { policy: again, created } = await store.createOrUpdate(timed("a", "1h"));
      expect(created).toBe(false);
      expect(again.metadata.generation).toBe(1);
      expect(revisionOf(again)).toBeGreaterThan(revisionOf(first));
      expect(Date.parse(again.status?.expiresAt ?? "")).toBeGreaterThan(
        Date.parse(first.status?.expiresAt ?? ""),
      );
      await settle();
      expect(events.map((e) => [e.type, e.revision])).toEqual([["put", revisionOf(again)]]);
    });

    test("dropping the duration drops the expiry", async () => {
      await store.create(timed("a", "2s"));
      const { policy: kept } = await store.createOrUpdate(policy("a"));
      expect(kept.status).toBeUndefined();
      expect(kept.metadata.generation).toBe(2);
      await time.advance(3500);
      expect(await store.get("a")).toEqual(kept);
    }, 10_000);

    test("a policy whose duration runs out is deleted by the store, with reason expired", async () => {
      const events = collect(store);
      const stored = await store.create(timed("short", "2s"));
      await store.create(policy("forever"));
      await time.advance(1900);
      expect(await store.get("short")).toEqual(stored);
      await time.advance(100);
      // etcd runs out leases on its own timer (every 500 ms), so "at 2 s" means between 2 and ~3.5 s.
      const deadline = Date.now() + 4000;
      while (Date.now() < deadline && !events.some((e) => e.type === "delete")) await Bun.sleep(50);
      const deleted = events.find((e) => e.type === "delete");
      expect(deleted).toMatchObject({ type: "delete", reason: "expired", policy: stored });
      await expectCode(store.get("short"), "NotFound");
      expect((await store.list()).items.map((p) => p.metadata.name)).toEqual(["forever"]);
    }, 10_000);

    test("a client's delete before the expiry has no reason", async () => {
      await store.create(timed("a", "1h"));
      const events = collect(store);
      await store.delete("a");
      await settle();
      expect(events).toHaveLength(1);
      expect(events[0]?.type).toBe("delete");
      expect(events[0] && "reason" in events[0]).toBe(false);
    });

    test("halt: writes are Locked, naming the halt; reads and deletes still work; resume lifts it", async () => {
      await store.create(policy("a"));
      await store.create(policy("b"));
      const { halt, created } = await store.halt({ reason: "incident 42", by: "alice@laptop" });
      expect(created).toBe(true);
      expect(halt).toMatchObject({ reason: "incident 42", by: "alice@laptop" });
      expect(Date.parse(halt.since)).toBeGreaterThan(time.now() - 5000);
      expect(await store.getHalt()).toEqual(halt);
      for (const write of [
        () => store.create(policy("c")),
        () => store.createOrUpdate(policy("a", 500)),
        () => store.createOrUpdate(policy("a")),
      ]) {
        const err = await write().catch((e: unknown) => e);
        expect(err).toMatchObject({ code: "Locked" });
        expect((err as Error).message).toContain("incident 42");
        expect((err as Error).message).toContain("alice@laptop");
      }
      expect((await store.get("a")).spec).toEqual(policy("a").spec);
      expect((await store.list()).items).toHaveLength(2);
      await store.delete("b");
      expect((await store.resume())?.lifted).toEqual(halt);
      expect(await store.getHalt()).toBeUndefined();
      expect((await store.createOrUpdate(policy("a", 500))).policy.spec.fault.abort?.httpStatus).toBe(500);
    });

    test("halt and resume take revisions and are watched; repeating either changes nothing", async () => {
      const events = collect(store);
      const start = (await store.list()).revision;
      const { halt } = await store.halt({});
      expect(halt.reason).toBe("");
      expect(halt).not.toHaveProperty("by");
      expect(halt.revision).toBeGreaterThan(start);
      const again = await store.halt({ reason: "second" });
      expect(again).toEqual({ halt, created: false });
      expect((await store.list()).revision).toBe(halt.revision);
      const lifted = await store.resume();
      const resumed = (await store.list()).revision;
      expect(lifted).toEqual({ lifted: halt, revision: resumed });
      expect(resumed).toBeGreaterThan(halt.revision);
      expect(await store.resume()).toBeUndefined();
      expect((await store.list()).revision).toBe(resumed);
      await settle();
      expect(events).toEqual([
        { type: "halt", halt, revision: halt.revision },
        { type: "resume", halt, revision: resumed },
      ]);
    });

    test("state reads the policies and the halt at one revision", async () => {
      expect(await store.state()).toEqual({ ...(await store.list()), halt: undefined });
      const a = await store.create(policy("a"));
      const { halt } = await store.halt({ reason: "r" });
      const state = await store.state();
      expect(state).toEqual({ items: [a], halt, revision: halt.revision });
      await store.resume();
    });
  });
}

function timed(name: string, duration: string): Policy {
  const p = policy(name);
  return { ...p, spec: { ...p.spec, duration } };
}

/** The policy of a put or delete event; fails on a halt event. */
function policyOf(event: WatchEvent) {
  if (!("policy" in event)) throw new Error(`expected a policy event, got ${event.type}`);
  return event.policy;
}

function policy(name: string, httpStatus = 503): Policy {
  return {
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: { name },
    spec: {
      priority: 0,
      match: { path: { prefix: "/" } },
      fault: { percentage: 100, abort: { httpStatus, body: "" } },
    },
  };
}

function withVersion(p: Policy, resourceVersion: string): Policy {
  return { ...p, metadata: { ...p.metadata, resourceVersion } };
}

function revisionOf(p: { metadata: { resourceVersion: string } }): number {
  return Number(p.metadata.resourceVersion);
}

function collect(store: PolicyStore): WatchEvent[] {
  const events: WatchEvent[] = [];
  store.watch((e) => {
    events.push(e);
  });
  return events;
}

/** Long enough for asynchronous watch delivery, local or over loopback. */
function settle(): Promise<void> {
  return Bun.sleep(50);
}

/** Settles first: Bun 1.4's `expect(promise).rejects` stalls on a promise that waits for gRPC I/O. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const outcome = await promise.then(
    (value) => ({ resolved: value }),
    (err: unknown) => err,
  );
  expect(outcome).toMatchObject({ name: "HfiError", code });
}
