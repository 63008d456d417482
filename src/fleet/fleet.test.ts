/**
 * Replicas on a real etcd: one leader that every replica names, a new one when it goes, the
 * proxies of every replica listed by any of them, and the leader's expiry clean-up.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { createConsola } from "consola";
import { Etcd3 } from "etcd3";
import { startTestEtcd, type TestEtcd } from "../../test/support/etcd.ts";
import { policyJson } from "../../test/support/policies.ts";
import type { FleetStatus, ProxiesStatus } from "../api-types.ts";
import { type RunningServer, startServer } from "../server/serve.ts";

const silent = createConsola({ level: -999 });
let etcd: TestEtcd;
let running: RunningServer[] = [];
let prefixes = 0;

beforeAll(async () => {
  etcd = await startTestEtcd();
});
afterEach(async () => {
  await Promise.all(running.map((server) => server.stop()));
  running = [];
});
afterAll(async () => {
  await etcd.stop();
});

/** Replicas on a prefix of their own, so that tests do not see each other's fleet. */
async function fleet(names: string[]): Promise<RunningServer[]> {
  const prefix = `fleet-${++prefixes}/`;
  const servers = await Promise.all(
    names.map((replica) =>
      startServer({
        listen: "127.0.0.1:0",
        store: { type: "etcd", endpoints: [etcd.endpoint], prefix },
        fleet: { replica, leaseTtlSeconds: 2 },
        logger: silent,
        heartbeatMs: 60_000,
        shutdownGraceMs: 0,
      }),
    ),
  );
  running.push(...servers);
  return servers;
}

const statusOf = async (server: RunningServer) =>
  (await (await fetch(`${server.url}/v1/status`)).json()) as FleetStatus;

const proxiesOf = async (server: RunningServer) =>
  (await (await fetch(`${server.url}/v1/status/proxies`)).json()) as ProxiesStatus;

async function eventually<T>(
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  limitMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  let last = await probe();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`not within ${limitMs} ms; last: ${JSON.stringify(last)}`);
    await Bun.sleep(50);
    last = await probe();
  }
  return last;
}

test("the replicas elect one leader that each of them names; when it stops another one leads", async () => {
  const servers = await fleet(["r1", "r2", "r3"]);
  const agreed = (statuses: FleetStatus[]) =>
    statuses.every((s) => s.leader !== null && s.leader === statuses[0]?.leader);
  const statuses = await eventually(() => Promise.all(servers.map(statusOf)), agreed);
  expect(statuses.map((s) => s.replica)).toEqual(["r1", "r2", "r3"]);
  expect(statuses[0]?.replicas).toEqual(["r1", "r2", "r3"]);
  const leader = statuses[0]?.leader as string;
  expect(["r1", "r2", "r3"]).toContain(leader);

  const index = ["r1", "r2", "r3"].indexOf(leader);
  await servers[index]?.stop();
  const rest = servers.filter((_, i) => i !== index);
  const after = await eventually(
    () => Promise.all(rest.map(statusOf)),
    (s) => agreed(s) && s[0]?.leader !== leader && s[0]?.replicas.length === 2,
  );
  expect(rest.map((s) => s.url)).not.toContain(servers[index]?.url);
  expect(after[0]?.replicas).toEqual(["r1", "r2", "r3"].filter((name) => name !== leader));
}, 30_000);

/** The samples of one metric in a replica's /metrics, without the name. */
async function metric(server: RunningServer, name: string): Promise<string[]> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .map((line) => line.slice(name.length).trim());
}

test("only the leader reports the fleet's proxies in /metrics, so a sum over replicas counts each once", async () => {
  const servers = await fleet(["m1", "m2"]);
  const { leader } = await eventually(
    () => statusOf(servers[0] as RunningServer),
    (s) => s.leader !== null,
  );
  const [leading, other] = (leader === "m1" ? servers : [...servers].reverse()) as [
    RunningServer,
    RunningServer,
  ];
  const held = new AbortController();
  const { revision } = await proxiesOf(other);
  void fetch(`${other.url}/v1/config?after=${revision}&wait=30&node=envoy-1&worker=0`, {
    signal: held.signal,
  }).catch(() => {});
  try {
    await eventually(
      () => metric(leading, "hfi_fleet_proxies"),
      (samples) => samples.includes('{state="live"} 1'),
    );
    expect(await metric(leading, "hfi_leader")).toEqual(["1"]);
    expect(await metric(other, "hfi_leader")).toEqual(["0"]);
    expect(await metric(other, "hfi_fleet_proxies")).toEqual([]);
  } finally {
    held.abort();
  }
}, 30_000);

test("any replica lists the proxies polling every replica, each with the replica it polls", async () => {
  const [a, b] = (await fleet(["a", "b"])) as [RunningServer, RunningServer];
  const held = new AbortController();
  const { revision } = await proxiesOf(a);
  // Polls that ask after the revision served are held, as a proxy's are between changes.
  const poll = (server: RunningServer, node: string) =>
    fetch(`${server.url}/v1/config?after=${revision}&wait=30&node=${node}&worker=0`, {
      signal: held.signal,
    }).catch(() => {});
  void poll(a, "envoy-1");
  void poll(b, "envoy-2");
  try {
    const seen = (status: ProxiesStatus) => status.proxies.map((p) => [p.node, p.replica, p.polling]);
    for (const server of [a, b]) {
      const status = await eventually(
        () => proxiesOf(server),
        (s) => s.proxies.length === 2,
      );
      expect(seen(status)).toEqual([
        ["envoy-1", "a", true],
        ["envoy-2", "b", true],
      ]);
    }
    // A replica that goes takes its proxies with it (they poll another replica from then on).
    await b.stop();
    const left = await eventually(
      () => proxiesOf(a),
      (s) => s.proxies.length === 1,
    );
    expect(seen(left)).toEqual([["envoy-1", "a", true]]);
  } finally {
    held.abort();
  }
}, 30_000);

test("a replica writes its proxies to etcd at most once a second, however often they change", async () => {
  const prefix = `fleet-${++prefixes}/`;
  const [server] = await Promise.all([
    startServer({
      listen: "127.0.0.1:0",
      store: { type: "etcd", endpoints: [etcd.endpoint], prefix },
      fleet: { replica: "busy", leaseTtlSeconds: 2 },
      logger: silent,
    }),
  ]);
  running.push(server);
  const client = new Etcd3({ hosts: etcd.endpoint });
  try {
    const started = performance.now();
    // 60 polls that each begin and end at once: 120 changes of the replica's list in about 1.5 s.
    for (let i = 0; i < 60; i++) {
      await fetch(`${server.url}/v1/config?wait=0&node=envoy-${i}&worker=0`).then((r) => r.arrayBuffer());
      await Bun.sleep(25);
    }
    await Bun.sleep(1200);
    const seconds = (performance.now() - started) / 1000;
    const [kv] = (await client.get(`${prefix}replicas/busy`).exec()).kvs;
    const writes = Number(kv?.version);
    expect(writes).toBeGreaterThanOrEqual(2);
    // The first write at start, then at most one per second.
    expect(writes).toBeLessThanOrEqual(1 + Math.ceil(seconds));
    const published = JSON.parse(kv?.value.toString() ?? "{}") as { proxies: unknown[] };
    expect(published.proxies).toHaveLength(60);
  } finally {
    client.close();
  }
}, 30_000);

test("the leader deletes a timed policy at its expiry, even after an etcd restart renewed its lease", async () => {
  const [server] = (await fleet(["solo"])) as [RunningServer];
  await eventually(statusOf.bind(null, server), (s) => s.leader === "solo");
  const policy = policyJson("short");
  const put = await fetch(`${server.url}/v1/policies/short`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...policy, spec: { ...policy.spec, duration: "10s" } }),
  });
  expect(put.status).toBe(201);
  const expiresAt = Date.parse(((await put.json()) as { status: { expiresAt: string } }).status.expiresAt);
  // etcd grants every lease its full TTL again when a member becomes leader, as a restart does:
  // from here on the policy's lease alone would keep it for another 10 s.
  await Bun.sleep(Math.max(0, expiresAt - 3000 - Date.now()));
  await etcd.kill();
  await etcd.start();
  const leaseAloneUntil = Date.now() + 10_000;
  const gone = await eventually(
    () => fetch(`${server.url}/v1/policies/short`).then((r) => r.status),
    (status) => status === 404,
    leaseAloneUntil - 500 - Date.now(),
  );
  expect(gone).toBe(404);
}, 30_000);
