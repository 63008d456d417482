/**
 * Replicas on a real etcd: one leader that every replica names, a new one when it goes, the
 * proxies of every replica listed by any of them, and the leader's expiry clean-up.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { createConsola } from "consola";
import { Etcd3 } from "etcd3";
import { startTestEtcd, type TestEtcd } from "../../test/support/etcd.ts";
import { eventually } from "../../test/support/eventually.ts";
import { encodeReport } from "../../test/support/observation-report.ts";
import { policyJson } from "../../test/support/policies.ts";
import type { FleetStatus, ObservationsList, PolicyObservationView, ProxiesStatus } from "../api-types.ts";
import { LATENCY_BUCKETS } from "../observations/index.ts";
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

/** A filter worker's report of `policy`: `n` requests, each answered with `status`. */
async function report(server: RunningServer, node: string, seq: number, n: number, status: number) {
  const body = encodeReport({
    seq,
    policies: [
      {
        name: "observed",
        matched: n,
        aborts: status === 503 ? n : 0,
        delays: 0,
        dryRun: 0,
        statuses: { [status]: n },
        otherStatuses: 0,
        latencyBuckets: Array.from({ length: LATENCY_BUCKETS }, (_, k) => (k === 3 ? n : 0)),
        latencySumUs: n * 5000,
      },
    ],
  });
  const res = await fetch(`${server.url}/v1/observations?node=${node}&worker=0`, { method: "POST", body });
  return ((await res.json()) as { counted: boolean }).counted;
}

const observedOf = async (server: RunningServer) => {
  const res = await fetch(`${server.url}/v1/observations/observed`);
  if (res.status === 404) return undefined;
  const o = (await res.json()) as PolicyObservationView;
  return { matched: o.matched, aborts: o.aborts, statuses: o.statuses, latencyBuckets: o.latencyBuckets };
};

test("every replica shows the observations reported to any replica, and a stopped replica's still count", async () => {
  const [a, b] = (await fleet(["oa", "ob"])) as [RunningServer, RunningServer];
  expect(await report(a, "envoy-1", 1, 3, 200)).toBe(true);
  expect(await report(b, "envoy-2", 1, 5, 503)).toBe(true);
  // A resend is counted once.
  expect(await report(b, "envoy-2", 1, 5, 503)).toBe(false);
  const expected = {
    matched: 8,
    aborts: 5,
    statuses: { "200": 3, "503": 5 },
    latencyBuckets: Array.from({ length: LATENCY_BUCKETS }, (_, k) => (k === 3 ? 8 : 0)),
  };
  for (const server of [a, b]) {
    expect(
      await eventually(
        () => observedOf(server),
        (o) => o?.matched === 8,
      ),
    ).toEqual(expected);
  }
  const { leader } = await eventually(
    () => statusOf(a),
    (s) => s.leader !== null,
  );
  const [leading, other] = leader === "oa" ? [a, b] : [b, a];
  expect(await metric(leading, "hfi_observed_requests")).toEqual(['{policy="observed"} 8']);
  expect(await metric(other, "hfi_observed_requests")).toEqual([]);

  // A replica that starts later reads what the others published so far.
  const late = await startServer({
    listen: "127.0.0.1:0",
    store: { type: "etcd", endpoints: [etcd.endpoint], prefix: `fleet-${prefixes}/` },
    fleet: { replica: "oc", leaseTtlSeconds: 2 },
    logger: silent,
    shutdownGraceMs: 0,
  });
  running.push(late);
  expect(await observedOf(late)).toEqual(expected);

  // b's key goes with it; a keeps counting what b reported, and adds what comes next.
  await b.stop();
  expect(await report(a, "envoy-1", 2, 1, 200)).toBe(true);
  await Bun.sleep(1500);
  expect(await observedOf(a)).toMatchObject({ matched: 9, statuses: { "200": 4, "503": 5 } });
}, 30_000);

test("a replica writes its observation totals at most once a second, of its 512 most recent policies", async () => {
  const [server] = (await fleet(["reporter"])) as [RunningServer];
  const prefix = `fleet-${prefixes}/`;
  const client = new Etcd3({ hosts: etcd.endpoint });
  try {
    const started = performance.now();
    // 6 reports of 128 policies each, 250 ms apart: 768 policies, 6 changes in about 1.5 s.
    for (let seq = 1; seq <= 6; seq++) {
      const policies = Array.from({ length: 128 }, (_, i) => ({
        name: `p-${seq}-${i}`,
        matched: 1,
        aborts: 0,
        delays: 0,
        dryRun: 0,
        statuses: { "200": 1 },
        otherStatuses: 0,
        latencyBuckets: Array.from({ length: LATENCY_BUCKETS }, () => 0),
        latencySumUs: 0,
      }));
      const body = encodeReport({ seq, policies });
      const res = await fetch(`${server.url}/v1/observations?node=envoy-1&worker=0`, {
        method: "POST",
        body,
      });
      expect(res.status).toBe(200);
      await Bun.sleep(250);
    }
    await Bun.sleep(1200);
    const seconds = (performance.now() - started) / 1000;
    const { kvs } = await client.getAll().prefix(`${prefix}replica-observations/reporter/`).exec();
    expect(kvs).toHaveLength(1);
    const writes = Number(kvs[0]?.version);
    expect(writes).toBeGreaterThanOrEqual(2);
    expect(writes).toBeLessThanOrEqual(1 + Math.ceil(seconds));
    const published = JSON.parse(kvs[0]?.value.toString() ?? "{}") as { policies: { name: string }[] };
    expect(published.policies).toHaveLength(512);
    // The oldest report's policies are the ones left out.
    expect(published.policies.some((p) => p.name.startsWith("p-1-") || p.name.startsWith("p-2-"))).toBe(
      false,
    );
    const listed = (await (await fetch(`${server.url}/v1/observations`)).json()) as ObservationsList;
    expect(listed.policies).toHaveLength(768);
  } finally {
    client.close();
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
