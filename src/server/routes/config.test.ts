import { describe, expect, test } from "bun:test";
import { createTestApp, errorOf, servedAt } from "../../../test/support/control-plane.ts";
import { policyJson } from "../../../test/support/policies.ts";
import type { Distributor } from "../../distributor/index.ts";
import { validatePolicy } from "../../policy/index.ts";
import type { PolicyStore } from "../../store/index.ts";

async function addPolicy(store: PolicyStore, name: string): Promise<void> {
  const result = validatePolicy(policyJson(name));
  if (!result.success) throw new Error("invalid test policy");
  await store.create(result.output);
}

/** The ETag of what `distributor` serves now: its rule-set identity, weak. */
const etagOf = (distributor: Distributor) => `W/"${distributor.current().id}"`;

describe("GET /v1/config (long-poll)", () => {
  test("200 at once without `after`, with the RuleSet and its identity as ETag", async () => {
    const { app, distributor } = await createTestApp();
    const res = await app.request("/v1/config");
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toMatch(/^W\/"[0-9a-f]{16}"$/);
    expect(res.headers.get("etag")).toBe(etagOf(distributor));
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.text()).toBe(distributor.current().json);
  });

  test("200 at once when `after` differs, even if it is greater", async () => {
    const { app, distributor } = await createTestApp();
    const res = await app.request("/v1/config?after=42&wait=30");
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe(etagOf(distributor));
  });

  test("200 at once when `id` differs, even at the same revision (a restarted memory store's revision 1)", async () => {
    const { app, store, distributor } = await createTestApp();
    await addPolicy(store, "p2");
    await servedAt(distributor, 1);
    const res = await app.request("/v1/config?after=1&id=0123456789abcdef&wait=30");
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe(etagOf(distributor));
    expect(JSON.parse(await res.text())).toMatchObject({ revision: 1, rules: [{ name: "p2" }] });
  });

  test("held while `id` is what is served, whatever `after` says; quotes and W/ as in the ETag are accepted", async () => {
    const { app, store, distributor } = await createTestApp();
    const { id } = distributor.current();
    for (const given of [id, `"${id}"`, `W/"${id}"`]) {
      const res = await app.request(`/v1/config?after=7&id=${encodeURIComponent(given)}&wait=0`);
      expect(res.status).toBe(304);
      expect(res.headers.get("etag")).toBe(etagOf(distributor));
    }
    const pending = Promise.resolve(app.request(`/v1/config?after=0&id=${id}&wait=10`));
    await addPolicy(store, "a");
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).not.toBe(`W/"${id}"`);
    expect(res.headers.get("etag")).toBe(etagOf(distributor));
  });

  test("an empty `id` says nothing: `after` decides", async () => {
    const { app, distributor } = await createTestApp();
    const res = await app.request("/v1/config?after=0&id=&wait=0");
    expect(res.status).toBe(304);
    expect(res.headers.get("etag")).toBe(etagOf(distributor));
  });

  test("a new revision with the same rules does not wake a poll that holds them by identity", async () => {
    const { app, store, distributor } = await createTestApp();
    await addPolicy(store, "a");
    await servedAt(distributor, 1);
    const { id } = distributor.current();
    const byIdentity = Promise.resolve(app.request(`/v1/config?after=1&id=${id}&wait=1`));
    const byRevision = Promise.resolve(app.request("/v1/config?after=1&wait=1"));
    // `mode: enforce` is the default spelt out: a new spec and revision, the same rules.
    const spelt = policyJson("a");
    const enforced = validatePolicy({ ...spelt, spec: { ...spelt.spec, mode: "enforce" } });
    if (!enforced.success) throw new Error("invalid test policy");
    await store.createOrUpdate(enforced.output);
    await servedAt(distributor, 2);
    expect(distributor.current().id).toBe(id);
    expect((await byRevision).status).toBe(200);
    expect((await byIdentity).status).toBe(304);
  });

  test("held until a change, then 200 with the new revision", async () => {
    const { app, store, distributor } = await createTestApp();
    let settled = false;
    const pending = Promise.resolve(app.request("/v1/config?after=0&wait=10")).then((res) => {
      settled = true;
      return res;
    });
    await Bun.sleep(50);
    expect(settled).toBe(false);
    await addPolicy(store, "a");
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe(etagOf(distributor));
    expect(JSON.parse(await res.text())).toMatchObject({ revision: 1, rules: [{ name: "a" }] });
  });

  test("304 with an empty body when nothing changes within `wait`", async () => {
    const { app, distributor } = await createTestApp();
    const started = performance.now();
    const res = await app.request("/v1/config?after=0&wait=1");
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(res.status).toBe(304);
    expect(res.headers.get("etag")).toBe(etagOf(distributor));
    expect(await res.text()).toBe("");
    expect(distributor.listenerCount()).toBe(0);
  });

  test("a client that goes away releases its waiter", async () => {
    const { app, distributor } = await createTestApp();
    const controller = new AbortController();
    const request = new Request("http://hfi/v1/config?after=0&wait=60", { signal: controller.signal });
    const pending = Promise.resolve(app.request(request));
    await Bun.sleep(20);
    expect(distributor.listenerCount()).toBe(1);
    controller.abort();
    await pending.catch(() => {});
    expect(distributor.listenerCount()).toBe(0);
  });

  test.each([
    ["after=abc", "after"],
    ["after=", "after"],
    ["after=1.5", "after"],
    ["wait=-1", "wait"],
    ["wait=2s", "wait"],
    ["after=0&wait=1e3", "wait"],
  ])("400 for %s", async (query, path) => {
    const { app } = await createTestApp();
    const res = await app.request(`/v1/config?${query}`);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ code: "InvalidInput", details: [{ path }] });
  });
});

describe("GET /v1/config: subscribers (node, worker)", () => {
  test("a poll naming node and worker is recorded: the revision it acknowledged, held while waiting", async () => {
    const { app, store, distributor, subscribers } = await createTestApp();
    await addPolicy(store, "a");
    await servedAt(distributor, 1);
    const first = await app.request("/v1/config?node=envoy-a&worker=w1");
    expect(first.status).toBe(200);
    expect(subscribers.list()).toMatchObject([
      { node: "envoy-a", worker: "w1", revision: null, polling: false },
    ]);
    const held = Promise.resolve(app.request("/v1/config?after=1&wait=10&node=envoy-a&worker=w1"));
    await Bun.sleep(20);
    expect(subscribers.list()).toMatchObject([{ revision: 1, polling: true, live: true }]);
    await addPolicy(store, "b");
    expect((await held).status).toBe(200);
    expect(subscribers.list()).toMatchObject([{ revision: 1, polling: false, live: true }]);
  });

  test('a poll without node is not recorded; node alone is worker ""', async () => {
    const { app, subscribers } = await createTestApp();
    await app.request("/v1/config");
    await app.request("/v1/config?after=7");
    expect(subscribers.list()).toEqual([]);
    await app.request("/v1/config?after=7&node=n");
    expect(subscribers.list()).toMatchObject([{ node: "n", worker: "", revision: 7 }]);
  });

  test("a poll that ends with 304 or a client gone is no longer held", async () => {
    const { app, subscribers } = await createTestApp();
    expect((await app.request("/v1/config?after=0&wait=0&node=n&worker=1")).status).toBe(304);
    const controller = new AbortController();
    const request = new Request("http://hfi/v1/config?after=0&wait=60&node=n&worker=2", {
      signal: controller.signal,
    });
    const pending = Promise.resolve(app.request(request));
    await Bun.sleep(20);
    expect(subscribers.list().map((s) => s.polling)).toEqual([false, true]);
    controller.abort();
    await pending.catch(() => {});
    expect(subscribers.list().map((s) => s.polling)).toEqual([false, false]);
  });

  test("odd node and worker values never fail a poll: cut to 256 characters, control characters as ?", async () => {
    const { app, subscribers } = await createTestApp();
    for (const query of [
      "worker=1",
      "node=",
      `node=${"x".repeat(300)}&worker=w`,
      "node=caf%C3%A9%20pod&worker=%00%0A",
    ]) {
      expect((await app.request(`/v1/config?${query}`)).status).toBe(200);
    }
    expect(subscribers.list().map((s) => [s.node, s.worker])).toEqual([
      ["café pod", "??"],
      ["x".repeat(256), "w"],
    ]);
  });
});

/** Reads an SSE response frame by frame (a frame ends with a blank line). */
function frameReader(res: Response) {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  return {
    async next(): Promise<string> {
      while (!buffered.includes("\n\n")) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`stream ended; unread: ${JSON.stringify(buffered)}`);
        buffered += decoder.decode(value, { stream: true });
      }
      const end = buffered.indexOf("\n\n") + 2;
      const frame = buffered.slice(0, end);
      buffered = buffered.slice(end);
      return frame;
    },
    cancel: () => reader.cancel(),
  };
}

describe("GET /v1/config/stream (SSE)", () => {
  test("the full config at connect, one event per change, unsubscribed on disconnect", async () => {
    const { app, store, distributor } = await createTestApp({ heartbeatMs: 60_000 });
    const res = await app.request("/v1/config/stream");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const frames = frameReader(res);
    expect(await frames.next()).toBe(
      `event: config\ndata: ${distributor.current().json}\nid: ${distributor.current().id}\n\n`,
    );

    await addPolicy(store, "a");
    const change = await frames.next();
    expect(change).toBe(
      `event: config\ndata: ${distributor.current().json}\nid: ${distributor.current().id}\n\n`,
    );
    expect(distributor.current().ruleSet.rules).toHaveLength(1);
    await Bun.sleep(10); // the stream's loop is waiting for the next change again
    expect(distributor.listenerCount()).toBe(1);

    await frames.cancel();
    await Bun.sleep(10);
    expect(distributor.listenerCount()).toBe(0);
  });

  test("a `: ping` comment after each quiet heartbeat interval", async () => {
    const { app } = await createTestApp({ heartbeatMs: 30 });
    const frames = frameReader(await app.request("/v1/config/stream"));
    expect(await frames.next()).toStartWith("event: config\n");
    expect(await frames.next()).toBe(": ping\n\n");
    expect(await frames.next()).toBe(": ping\n\n");
    await frames.cancel();
  });

  test.each([
    ["identity", (d: Distributor) => d.current().id],
    ["revision (from a server before identities)", () => "1"],
  ])("a reconnect with Last-Event-ID equal to the current %s gets no repeat", async (_, lastEventId) => {
    const { app, store, distributor } = await createTestApp({ heartbeatMs: 30 });
    await addPolicy(store, "a");
    await distributor.waitForChange({ revision: 0 }, 1000);
    const headers = { "last-event-id": lastEventId(distributor) };
    const frames = frameReader(await app.request("/v1/config/stream", { headers }));
    expect(await frames.next()).toBe(": ping\n\n");
    await addPolicy(store, "b");
    expect(await frames.next()).toStartWith("event: config\ndata: ");
    await frames.cancel();
  });

  test("a reconnect with another identity gets the config at once", async () => {
    const { app, distributor } = await createTestApp({ heartbeatMs: 60_000 });
    const headers = { "last-event-id": "0123456789abcdef" };
    const frames = frameReader(await app.request("/v1/config/stream", { headers }));
    expect(await frames.next()).toBe(
      `event: config\ndata: ${distributor.current().json}\nid: ${distributor.current().id}\n\n`,
    );
    await frames.cancel();
  });
});
