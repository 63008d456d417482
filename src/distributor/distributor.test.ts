import { describe, expect, test } from "bun:test";
import { createConsola } from "consola";
import { createManualClock } from "../../test/support/clock.ts";
import { NO_IDENTITY, type Policy, type WorkloadIdentity } from "../policy/index.ts";
import { RULESET_FORMAT_WITHOUT_HOST } from "../ruleset/format.ts";
import { createMemoryStore, type PolicyStore } from "../store/index.ts";
import { type ConfigSnapshot, createDistributor } from "./index.ts";

const silent = createConsola({ level: -999 });

function policy(name: string, priority = 0): Policy {
  return {
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: { name },
    spec: { priority, fault: { percentage: 100, abort: { httpStatus: 503, body: "" } } },
  };
}

describe("createDistributor", () => {
  test("starts from the policies already stored", async () => {
    const store = createMemoryStore();
    await store.create(policy("a"));
    await store.create(policy("b", 5));
    const distributor = await createDistributor(store, { logger: silent });
    const { revision, ruleSet, json } = distributor.current();
    expect(revision).toBe(2);
    expect(ruleSet.rules.map((r) => r.name)).toEqual(["b", "a"]);
    expect(json).toBe(JSON.stringify(ruleSet));
    distributor.close();
  });

  test("a burst of changes is compiled and published once", async () => {
    const store = createMemoryStore();
    const distributor = await createDistributor(store, { logger: silent, coalesceMs: 20 });
    const published: ConfigSnapshot[] = [];
    distributor.subscribe((s) => published.push(s));
    for (const name of ["a", "b", "c", "d"]) await store.create(policy(name));
    await store.delete("d");
    await Bun.sleep(100);
    expect(published.map((s) => [s.revision, s.ruleSet.rules.length])).toEqual([[5, 3]]);
    distributor.close();
  });

  test("a throwing listener does not stop the others", async () => {
    const store = createMemoryStore();
    const distributor = await createDistributor(store, { logger: silent });
    distributor.subscribe(() => {
      throw new Error("listener bug");
    });
    const revisions: number[] = [];
    distributor.subscribe((s) => revisions.push(s.revision));
    await store.create(policy("a"));
    await distributor.waitForChange({ revision: 0 }, 1000);
    expect(revisions).toEqual([1]);
    distributor.close();
  });

  test("keeps the last config while the store cannot be read, then catches up", async () => {
    const store = createMemoryStore();
    let failNextRead = false;
    const flaky: PolicyStore = {
      ...store,
      state() {
        if (!failNextRead) return store.state();
        failNextRead = false;
        return Promise.reject(new Error("store down"));
      },
    };
    const distributor = await createDistributor(flaky, { logger: silent, retryMs: 30 });
    failNextRead = true;
    await store.create(policy("a"));
    await Bun.sleep(20);
    expect(distributor.current().revision).toBe(0);
    expect((await distributor.waitForChange({ revision: 0 }, 1000))?.revision).toBe(1);
    distributor.close();
  });

  test("fails to start when the store cannot be read", async () => {
    const store = createMemoryStore();
    const broken: PolicyStore = { ...store, state: () => Promise.reject(new Error("store down")) };
    await expect(createDistributor(broken, { logger: silent })).rejects.toThrow("store down");
  });
});

describe("createDistributor: halt and expiry", () => {
  test("a halt publishes a RuleSet with halted: true and the same rules; resume takes it away", async () => {
    const store = createMemoryStore();
    await store.create(policy("a"));
    const distributor = await createDistributor(store, { logger: silent });
    const { halt } = await store.halt({ reason: "incident" });
    const halted = await distributor.waitForChange({ revision: 1 }, 1000);
    expect(halted?.revision).toBe(halt.revision);
    expect(halted?.ruleSet.halted).toBe(true);
    expect(halted?.ruleSet.rules.map((r) => r.name)).toEqual(["a"]);
    await store.resume();
    const resumed = await distributor.waitForChange({ revision: halt.revision }, 1000);
    expect(resumed?.ruleSet).toEqual({
      format: RULESET_FORMAT_WITHOUT_HOST,
      revision: halt.revision + 1,
      rules: halted?.ruleSet.rules ?? [],
    });
    expect(resumed?.json).not.toContain("halted");
    distributor.close();
  });

  test("a timed policy's expiresAt and a dry run reach the RuleSet; its expiry publishes the removal", async () => {
    const clock = createManualClock();
    const store = createMemoryStore({ clock });
    const distributor = await createDistributor(store, { logger: silent });
    const timed = policy("timed");
    const stored = await store.create({ ...timed, spec: { ...timed.spec, duration: "1s", mode: "dryRun" } });
    const compiled = await distributor.waitForChange({ revision: 0 }, 1000);
    expect(compiled?.ruleSet.rules[0]).toMatchObject({
      name: "timed",
      expiresAt: Date.parse(stored.status?.expiresAt ?? ""),
      dryRun: true,
    });
    clock.advance(1000);
    const expired = await distributor.waitForChange(compiled ?? undefined, 3000);
    expect(expired?.ruleSet.rules).toEqual([]);
    distributor.close();
  });
});

describe("waitForChange", () => {
  async function setup() {
    const store = createMemoryStore();
    const distributor = await createDistributor(store, { logger: silent });
    return { store, distributor };
  }

  test("answers at once when the client has no revision or a different one", async () => {
    const { distributor } = await setup();
    expect(await distributor.waitForChange(undefined, 1000)).toBe(distributor.current());
    // A client that saw revision 7 of a server that has since restarted.
    expect(await distributor.waitForChange({ revision: 7 }, 1000)).toBe(distributor.current());
  });

  test("holds until the next change", async () => {
    const { store, distributor } = await setup();
    const waiting = distributor.waitForChange({ revision: 0 }, 5000);
    expect(distributor.listenerCount()).toBe(1);
    await store.create(policy("a"));
    expect((await waiting)?.revision).toBe(1);
    expect(distributor.listenerCount()).toBe(0);
  });

  test("gives null after the timeout", async () => {
    const { distributor } = await setup();
    expect(await distributor.waitForChange({ revision: 0 }, 20)).toBeNull();
    expect(distributor.listenerCount()).toBe(0);
  });

  test("releases the waiter when the signal aborts", async () => {
    const { distributor } = await setup();
    const controller = new AbortController();
    const waiting = distributor.waitForChange({ revision: 0 }, 60_000, controller.signal);
    controller.abort();
    expect(await waiting).toBeNull();
    expect(distributor.listenerCount()).toBe(0);
    expect(await distributor.waitForChange({ revision: 0 }, 60_000, AbortSignal.abort())).toBeNull();
    expect(distributor.listenerCount()).toBe(0);
  });
});

describe("per-identity rule sets", () => {
  const reviews: WorkloadIdentity = { service: "reviews", namespace: "shop", labels: { app: "reviews" } };
  const ratings: WorkloadIdentity = { service: "ratings", namespace: "shop", labels: { app: "ratings" } };

  function targeted(name: string, selector: Policy["spec"]["selector"]): Policy {
    const base = policy(name);
    return { ...base, spec: { ...base.spec, selector } };
  }

  async function setup() {
    const store = createMemoryStore();
    await store.create(policy("everyone"));
    await store.create(targeted("reviews-only", { service: "reviews" }));
    await store.create(
      targeted("shop-reviews-label", { namespace: "shop", matchLabels: { app: "reviews" } }),
    );
    await store.create(targeted("any-service", { service: "*" }));
    const distributor = await createDistributor(store, { logger: silent, coalesceMs: 0 });
    return { store, distributor };
  }

  const names = (snapshot: ConfigSnapshot | null) => snapshot?.ruleSet.rules.map((r) => r.name).sort();

  test("each identity is served the policies whose selector picks it; without one, every policy", async () => {
    const { distributor } = await setup();
    expect(names(distributor.current(reviews))).toEqual([
      "any-service",
      "everyone",
      "reviews-only",
      "shop-reviews-label",
    ]);
    expect(names(distributor.current(ratings))).toEqual(["any-service", "everyone"]);
    expect(names(distributor.current(NO_IDENTITY))).toEqual(["any-service", "everyone"]);
    expect(distributor.current()?.ruleSet.rules).toHaveLength(4);
    expect(distributor.current(reviews).id).not.toBe(distributor.current(ratings).id);
    // Identities that select the same policies share one snapshot.
    expect(distributor.current(ratings)).toBe(distributor.current(NO_IDENTITY));
    // The same identity, labels in another order: one cached rule set.
    const before = distributor.identityCount();
    expect(distributor.current({ ...reviews, labels: { ...reviews.labels } })).toBe(
      distributor.current(reviews),
    );
    expect(distributor.identityCount()).toBe(before);
    distributor.close();
  });

  test("a change for one service wakes only its waiters; a halt wakes everyone", async () => {
    const { store, distributor } = await setup();
    const heldBy = (who: WorkloadIdentity) => ({ id: distributor.current(who).id });
    const reviewsWaits = distributor.waitForChange(heldBy(reviews), 5000, undefined, reviews);
    const ratingsWaits = distributor.waitForChange(heldBy(ratings), 300, undefined, ratings);
    expect(distributor.listenerCount()).toBe(2);
    await store.create(targeted("reviews-two", { service: "reviews" }));
    expect(names(await reviewsWaits)).toContain("reviews-two");
    // Not woken: the change left ratings' rules as they were, so its poll runs to its timeout.
    expect(await ratingsWaits).toBeNull();
    expect(distributor.current(ratings).revision).toBe(5);

    const both = [reviews, ratings].map((who) =>
      distributor.waitForChange(heldBy(who), 5000, undefined, who),
    );
    await store.halt({ reason: "stop" });
    for (const woken of await Promise.all(both)) expect(woken?.ruleSet.halted).toBe(true);
    distributor.close();
  });

  test("a waiter that holds only a revision (a filter before identities) is woken by every change", async () => {
    const { store, distributor } = await setup();
    const waiting = distributor.waitForChange({ revision: 4 }, 5000, undefined, ratings);
    await store.create(targeted("reviews-two", { service: "reviews" }));
    expect((await waiting)?.revision).toBe(5);
    distributor.close();
  });

  test("identities are cached up to the cap; idle ones make room, ones with waiters stay", async () => {
    const store = createMemoryStore();
    const distributor = await createDistributor(store, { logger: silent, maxIdentities: 2 });
    const who = (service: string): WorkloadIdentity => ({ ...NO_IDENTITY, service });
    const held = distributor.waitForChange(
      { id: distributor.current(who("a")).id },
      5000,
      undefined,
      who("a"),
    );
    distributor.current(who("b"));
    distributor.current(who("c"));
    expect(distributor.identityCount()).toBe(2);
    await store.create(policy("x"));
    expect((await held)?.ruleSet.rules).toHaveLength(1);
    distributor.close();
  });
});
