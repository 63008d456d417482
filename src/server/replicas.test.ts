/**
 * High availability on a real etcd: replicas of the control plane sharing one etcd are
 * interchangeable, and a replica whose etcd goes away says so on /readyz and recovers with it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createConsola } from "consola";
import { startTestEtcd, type TestEtcd } from "../../test/support/etcd.ts";
import { policyJson } from "../../test/support/policies.ts";
import type { RuleSet } from "../ruleset/format.ts";
import { type RunningServer, startServer } from "./serve.ts";

const silent = createConsola({ level: -999 });
let etcd: TestEtcd;

beforeAll(async () => {
  etcd = await startTestEtcd();
});

afterAll(async () => {
  await etcd.stop();
});

function replica(prefix: string): Promise<RunningServer> {
  return startServer({
    listen: "127.0.0.1:0",
    store: { type: "etcd", endpoints: [etcd.endpoint], prefix },
    logger: silent,
    heartbeatMs: 60_000,
  });
}

const put = (server: RunningServer, name: string, httpStatus = 503) =>
  fetch(`${server.url}/v1/policies/${name}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(policyJson(name, httpStatus)),
  });

/** The next SSE event's id and RuleSet. */
async function nextEvent(reader: { read(): Promise<{ value?: Uint8Array }> }) {
  const frame = new TextDecoder().decode((await reader.read()).value);
  const id = /\nid: ([0-9a-f]+)\n/.exec(frame)?.[1];
  const data = /^data: (.*)$/m.exec(frame)?.[1] ?? "null";
  return { id, ruleSet: JSON.parse(data) as RuleSet };
}

/** The rule-set identity in an ETag (`W/"<id>"`). */
function idOf(etag: string | null | undefined): string | undefined {
  return /^W\/"([0-9a-f]{16})"$/.exec(etag ?? "")?.[1];
}

test(
  "a write through one replica reaches the other's long-polls and SSE streams with the same revision and identity",
  async () => {
    const [a, b] = await Promise.all([replica("ha/"), replica("ha/")]);
    try {
      const etags = await Promise.all(
        [a, b].map((s) => fetch(`${s.url}/v1/config`).then((r) => r.headers.get("etag"))),
      );
      expect(etags[0]).toBe(etags[1] as string);
      const start = idOf(etags[0]);
      expect(start).toBeDefined();

      const pollB = fetch(`${b.url}/v1/config?id=${start}&wait=20`);
      const pollA = fetch(`${a.url}/v1/config?id=${start}&wait=20`);
      const streamB = (
        (await fetch(`${b.url}/v1/config/stream`)).body as ReadableStream<Uint8Array>
      ).getReader();
      expect((await nextEvent(streamB)).id).toBe(start);

      const written = await put(a, "x");
      expect(written.status).toBe(201);
      const revision = Number(
        ((await written.json()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion,
      );

      const ids: (string | undefined)[] = [];
      for (const poll of [pollB, pollA]) {
        const answer = await poll;
        expect(answer.status).toBe(200);
        ids.push(idOf(answer.headers.get("etag")));
        const ruleSet = (await answer.json()) as RuleSet;
        expect([ruleSet.revision, ruleSet.rules.map((r) => r.name)]).toEqual([revision, ["x"]]);
      }
      expect(ids[0]).toBeDefined();
      expect(ids[0]).not.toBe(start);
      expect(ids[1]).toBe(ids[0]);
      const event = await nextEvent(streamB);
      expect([event.id, event.ruleSet.revision, event.ruleSet.rules.map((r) => r.name)]).toEqual([
        ids[0],
        revision,
        ["x"],
      ]);

      // And the other way round, for an update and a delete through B.
      expect((await put(b, "x", 500)).status).toBe(200);
      expect((await fetch(`${b.url}/v1/policies/x`, { method: "DELETE" })).status).toBe(200);
      const lists = await Promise.all([a, b].map((s) => fetch(`${s.url}/v1/policies`).then((r) => r.json())));
      expect(lists[0]).toEqual(lists[1]);
      // Each replica recompiles on its own watch (bursts coalesce), so follow each to the delete.
      const [latestA, latestB] = await Promise.all([
        ruleSetWithoutRules(a.url, revision),
        ruleSetWithoutRules(b.url, revision),
      ]);
      expect(latestA.revision).toBe(latestB.revision);
      expect(latestA.revision).toBeGreaterThan(revision);
      await streamB.cancel();
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  },
  { timeout: 30_000 },
);

test(
  "the first change after start, written by another etcd client, answers a replica's held long-poll",
  async () => {
    const server = await replica("first/");
    try {
      const start = idOf((await fetch(`${server.url}/v1/config`)).headers.get("etag"));
      const poll = fetch(`${server.url}/v1/config?id=${start}&wait=20`);
      // Straight into etcd through its HTTP gateway: no request to this replica but the held poll.
      const value = {
        ...policyJson("direct"),
        metadata: { name: "direct", creationTimestamp: "2026-01-01T00:00:00Z", generation: 1 },
      };
      const b64 = (text: string) => Buffer.from(text).toString("base64");
      const written = await fetch(`${etcd.endpoint}/v3/kv/put`, {
        method: "POST",
        body: JSON.stringify({ key: b64("first/policies/direct"), value: b64(JSON.stringify(value)) }),
      });
      expect(written.status).toBe(200);
      // Answered with the change, not the 304 that the end of its 20 s wait would bring.
      const answer = await poll;
      expect(answer.status).toBe(200);
      expect(((await answer.json()) as RuleSet).rules.map((r) => r.name)).toEqual(["direct"]);
    } finally {
      await server.stop();
    }
  },
  { timeout: 30_000 },
);

test(
  "while etcd is down: /readyz is 503, the last config is still served, errors are counted; then it recovers",
  async () => {
    const server = await replica("ready/");
    try {
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      expect((await put(server, "a")).status).toBe(201);
      await Bun.sleep(100);

      await etcd.kill();
      const down = await fetch(`${server.url}/readyz`);
      expect(down.status).toBe(503);
      expect(((await down.json()) as { error: { code: string } }).error.code).toBe("Unavailable");
      expect((await put(server, "b")).status).toBe(503);
      const config = await fetch(`${server.url}/v1/config`);
      expect(config.status).toBe(200);
      expect(((await config.json()) as RuleSet).rules.map((r) => r.name)).toEqual(["a"]);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/^hfi_store_errors_total\{operation="ping"\} [1-9]/m);

      await etcd.start();
      const deadline = Date.now() + 15_000;
      while ((await fetch(`${server.url}/readyz`)).status !== 200) {
        if (Date.now() > deadline) throw new Error("not ready again within 15 s");
        await Bun.sleep(200);
      }
      const before = idOf((await fetch(`${server.url}/v1/config`)).headers.get("etag"));
      expect((await put(server, "b")).status).toBe(201);
      // Delivered by the watch once it has resumed.
      const poll = await fetch(`${server.url}/v1/config?id=${before}&wait=15`);
      expect(((await poll.json()) as RuleSet).rules.map((r) => r.name).sort()).toEqual(["a", "b"]);
    } finally {
      await server.stop();
    }
  },
  { timeout: 30_000 },
);

test(
  "replicas that read the same policies at different etcd revisions serve the same identity: a filter switching between them has nothing to apply",
  async () => {
    const a = await replica("same-rules/");
    let b: RunningServer | undefined;
    try {
      expect((await put(a, "x")).status).toBe(201);
      let atA = await fetch(`${a.url}/v1/config`);
      while (((await atA.clone().json()) as RuleSet).rules.length === 0) {
        await Bun.sleep(10);
        atA = await fetch(`${a.url}/v1/config`);
      }
      // Writes elsewhere in the cluster (another prefix) move etcd's revision, not the rules.
      const other = await replica("elsewhere/");
      for (const name of ["p", "q", "r"]) expect((await put(other, name)).status).toBe(201);
      await other.stop();
      b = await replica("same-rules/");
      const atB = await fetch(`${b.url}/v1/config`);
      const [ruleSetA, ruleSetB] = [(await atA.json()) as RuleSet, (await atB.json()) as RuleSet];
      expect(ruleSetB.revision).toBeGreaterThan(ruleSetA.revision);
      expect(ruleSetB.rules).toEqual(ruleSetA.rules);
      expect(atB.headers.get("etag")).toBe(atA.headers.get("etag") as string);
      // A filter that got its rules from A and polls B is held: nothing new.
      const id = idOf(atA.headers.get("etag"));
      const poll = await fetch(`${b.url}/v1/config?after=${ruleSetA.revision}&id=${id}&wait=1`);
      expect(poll.status).toBe(304);
    } finally {
      await b?.stop();
      await a.stop();
    }
  },
  { timeout: 30_000 },
);

test(
  "a halt through one replica is served by both, refuses writes through both, and survives their restart",
  async () => {
    let [a, b] = await Promise.all([replica("halt-ha/"), replica("halt-ha/")]);
    try {
      expect((await put(a, "x")).status).toBe(201);
      // b serves x once its watch has it; only then is a poll of b held until the halt.
      const { revision: start } = await ruleSetMatching(b.url, 0, (r) => r.rules.length === 1);
      const pollB = fetch(`${b.url}/v1/config?after=${start}&wait=20`);
      const halted = await fetch(`${a.url}/v1/halt`, {
        method: "POST",
        body: JSON.stringify({ reason: "incident", by: "ops" }),
      });
      expect(halted.status).toBe(201);
      const halt = (await halted.json()) as { revision: number };
      const ruleSet = (await (await pollB).json()) as RuleSet;
      expect(ruleSet).toMatchObject({ revision: halt.revision, halted: true, rules: [{ name: "x" }] });
      const refused = await put(b, "y");
      expect(refused.status).toBe(423);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toContain(
        "by ops: incident",
      );

      await Promise.all([a.stop(), b.stop()]);
      [a, b] = await Promise.all([replica("halt-ha/"), replica("halt-ha/")]);
      expect(await (await fetch(`${b.url}/v1/halt`)).json()).toMatchObject({
        halted: true,
        reason: "incident",
      });
      expect(await (await fetch(`${a.url}/v1/config`)).json()).toMatchObject({ halted: true });

      expect((await fetch(`${b.url}/v1/halt`, { method: "DELETE" })).status).toBe(200);
      // The restarted replicas serve the halt at a later revision (their own leases and keys took some).
      const resumed = await ruleSetMatching(a.url, halt.revision, (r) => r.halted === undefined);
      expect(resumed.rules.map((r) => r.name)).toEqual(["x"]);
      expect((await put(a, "y")).status).toBe(201);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  },
  { timeout: 30_000 },
);

/** Long-polls from `after` until the served RuleSet has no rules left; fails after 20 polls. */
function ruleSetWithoutRules(url: string, after: number): Promise<RuleSet> {
  return ruleSetMatching(url, after, (r) => r.rules.length === 0);
}

/** Long-polls from `after` until the served RuleSet is as `wanted`; fails after 20 polls. */
async function ruleSetMatching(
  url: string,
  after: number,
  wanted: (r: RuleSet) => boolean,
): Promise<RuleSet> {
  for (let i = 0; i < 20; i++) {
    const ruleSet = (await fetch(`${url}/v1/config?after=${after}&wait=20`).then((r) => r.json())) as RuleSet;
    if (wanted(ruleSet)) return ruleSet;
    after = ruleSet.revision;
  }
  throw new Error(`${url} never served the RuleSet wanted`);
}
