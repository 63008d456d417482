/**
 * Replicas of `hfi serve --store kubernetes` on a real kube-apiserver: one leader (the Lease's holder)
 * that each of them names, every replica listed through its own Lease, the proxies polling any
 * replica listed by every one, and a replica that stops taking its proxies with it.
 */
import { afterAll, afterEach, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { createConsola } from "consola";
import type { FleetStatus, ProxiesStatus } from "../../src/api-types.ts";
import { type RunningServer, startServer } from "../../src/server/serve.ts";
import { eventually } from "../support/eventually.ts";
import { startTestKubeApiServer, type TestKubeApiServer } from "../support/kube-apiserver.ts";
import { encodeReport } from "../support/observation-report.ts";

// Each test waits for a real API server, which takes seconds on a busy machine.
setDefaultTimeout(30_000);
const silent = createConsola({ level: -999 });
let kube: TestKubeApiServer;
let running: RunningServer[] = [];

beforeAll(async () => {
  kube = await startTestKubeApiServer();
  await kube.installCrds();
}, 180_000);
afterEach(async () => {
  await Promise.all(running.map((server) => server.stop()));
  running = [];
});
afterAll(async () => {
  await kube?.stop();
});

/** Replicas on a namespace of their own, so that tests do not see each other's fleet. */
async function fleet(names: string[], namespace?: string): Promise<RunningServer[]> {
  namespace ??= await kube.createNamespace("fleet");
  const servers = await Promise.all(
    names.map((replica) =>
      startServer({
        listen: "127.0.0.1:0",
        store: { type: "kubernetes", kubeconfig: kube.kubeconfig, namespace, leaseDurationSeconds: 2 },
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

test("the replicas name one leader, the Lease's holder, and each other; when it stops another one leads", async () => {
  const namespace = await kube.createNamespace("fleet");
  const servers = await fleet(["k1", "k2"], namespace);
  const agreed = (statuses: FleetStatus[]) =>
    statuses.every((s) => s.leader !== null && s.leader === statuses[0]?.leader && s.replicas.length === 2);
  const statuses = await eventually(() => Promise.all(servers.map(statusOf)), agreed);
  expect(statuses.map((s) => [s.replica, s.replicas])).toEqual([
    ["k1", ["k1", "k2"]],
    ["k2", ["k1", "k2"]],
  ]);
  const leader = statuses[0]?.leader as string;
  const lease = await kube.kubectl(["get", "lease", "hfi-leader", "-n", namespace, "-o", "json"]);
  expect(JSON.parse(lease.stdout).spec.holderIdentity).toBe(leader);

  const index = ["k1", "k2"].indexOf(leader);
  await servers[index]?.stop();
  const rest = servers[1 - index] as RunningServer;
  const after = await eventually(
    () => statusOf(rest),
    (s) => s.leader === s.replica && s.replicas.length === 1,
  );
  expect(after.replicas).toEqual([after.replica]);
});

test("any replica lists the proxies polling every replica, each with the replica it polls", async () => {
  const [a, b] = (await fleet(["a", "b"])) as [RunningServer, RunningServer];
  const held = new AbortController();
  // Polls that ask after the revision a replica serves are held, as a proxy's are between changes
  // (each its own: the replicas' revisions are the API server's at their last list or event).
  const poll = async (server: RunningServer, node: string) => {
    const { revision } = await proxiesOf(server);
    void fetch(`${server.url}/v1/config?after=${revision}&wait=30&node=${node}&worker=0`, {
      signal: held.signal,
    }).catch(() => {});
  };
  await poll(a, "envoy-1");
  await poll(b, "envoy-2");
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
    // A replica that stops deletes its Lease: its proxies leave at once (they poll another from then on).
    await b.stop();
    const left = await proxiesOf(a);
    expect(seen(left)).toEqual([["envoy-1", "a", true]]);
  } finally {
    held.abort();
  }
});

test("only the leader reports the fleet's proxies in /metrics; each replica the observations reported to it, which it alone has", async () => {
  const servers = await fleet(["m1", "m2"]);
  const { leader } = await eventually(
    () => statusOf(servers[0] as RunningServer),
    (s) => s.leader !== null,
  );
  const [leading, other] = (leader === "m1" ? servers : [...servers].reverse()) as [
    RunningServer,
    RunningServer,
  ];
  const metric = async (server: RunningServer, name: string) =>
    (await (await fetch(`${server.url}/metrics`)).text())
      .split("\n")
      .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      .map((line) => line.slice(name.length).trim());
  expect(await metric(leading, "hfi_leader")).toEqual(["1"]);
  expect(await metric(other, "hfi_leader")).toEqual(["0"]);
  expect(await metric(leading, "hfi_fleet_proxies")).toEqual(['{state="live"} 0', '{state="current"} 0']);
  expect(await metric(other, "hfi_fleet_proxies")).toEqual([]);

  const report = encodeReport({
    seq: 1,
    policies: [
      {
        name: "checkout",
        matched: 10,
        aborts: 4,
        delays: 0,
        dryRun: 0,
        statuses: { "503": 4 },
        otherStatuses: 0,
        latencyBuckets: Array.from({ length: 15 }, () => 0),
        latencySumUs: 0,
      },
    ],
  });
  const posted = await fetch(`${other.url}/v1/observations?node=n&worker=w`, {
    method: "POST",
    body: report,
  });
  expect(posted.ok).toBe(true);
  expect(await metric(other, "hfi_observed_requests")).toEqual(['{policy="checkout"} 10']);
  expect(await metric(leading, "hfi_observed_requests")).toEqual([]);
});
