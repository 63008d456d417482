/**
 * End to end with Kubernetes as the store: a real kube-apiserver (two, on one etcd, as in an HA
 * control plane), `kubectl`, the real dist/hfi (`serve --store kubernetes`), the real Envoy and filter.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { hfi } from "../support/cli.ts";
import { startTestKubeApiServer, type TestKubeApiServer } from "../support/kube-apiserver.ts";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";
import { HFI_BIN, ROOT } from "../support/paths.ts";
import { freePort } from "../support/ports.ts";
import { terminate } from "../support/process.ts";
import { type HfiReplica, startHfiReplica } from "../support/replicas.ts";
import { expectSoon, send as sendThrough } from "../support/requests.ts";

// Each test runs kubectl or waits for a real API server, which take seconds on a busy machine.
setDefaultTimeout(30_000);
const PROPAGATION_LIMIT_MS = 5000;
/** From an API server's return to its changes in Envoy: its start-up, then the watch's reconnect. */
const RECOVERY_LIMIT_MS = 20_000;

let kube: TestKubeApiServer;
/** A second API server on the same etcd, for changes made while the first is down. */
let peer: TestKubeApiServer;
let namespace: string;
let stack: LocalStack;

beforeAll(async () => {
  kube = await startTestKubeApiServer();
  await kube.installCrds();
  namespace = await kube.createNamespace("e2e");
  stack = await startLocalStack({
    concurrency: 2,
    serveArgs: ["--store", "kubernetes", "--kubeconfig", kube.kubeconfig, "--namespace", namespace],
  });
  peer = await startTestKubeApiServer({ etcd: kube.etcd });
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  await peer?.stop();
  await kube?.stop();
});

const send = (path: string, method = "GET") => sendThrough(stack.envoyUrl, path, method);
const expectStatusSoon = (path: string, method: string, status: number) =>
  expectSoon(
    () => send(path, method),
    (s) => s.status === status,
    10,
    PROPAGATION_LIMIT_MS,
  );

async function kubectl(server: TestKubeApiServer, args: string[], stdin?: string): Promise<string> {
  const result = await server.kubectl(["-n", namespace, ...args], stdin);
  expect(result.stderr).toBe("");
  expect(result.exitCode).toBe(0);
  return result.stdout;
}

function abortPolicy(name: string, prefix: string, httpStatus: number): string {
  return JSON.stringify({
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: { name },
    spec: { match: { path: { prefix } }, fault: { abort: { httpStatus } } },
  });
}

test("kubectl apply -f examples/abort.yaml faults in Envoy; kubectl delete stops it", async () => {
  expect((await send("/api/checkout/pay", "POST")).status).toBe(200);
  await kubectl(kube, ["apply", "-f", join(ROOT, "examples/abort.yaml")]);
  const aborted = await expectStatusSoon("/api/checkout/pay", "POST", 503);
  expect(aborted.fault).toBe("checkout-abort");
  expect(aborted.body).toBe("fault injected by hfi");

  // hfi's own API reads the same resource.
  const listed = (await (await fetch(`${stack.controlPlaneUrl}/v1/policies`)).json()) as {
    items: { metadata: { name: string } }[];
  };
  expect(listed.items.map((p) => p.metadata.name)).toEqual(["checkout-abort"]);

  await kubectl(kube, ["delete", "fip", "checkout-abort"]);
  expect((await expectStatusSoon("/api/checkout/pay", "POST", 200)).fault).toBeNull();
}, 30_000);

test("kubectl wait --for=condition=Propagated returns once the Envoy has the policy", async () => {
  await kubectl(kube, ["apply", "-f", "-"], abortPolicy("waited", "/waited", 503));
  const wait = await kubectl(kube, ["wait", "--for=condition=Propagated", "--timeout=30s", "fip/waited"]);
  expect(wait).toContain("condition met");
  // Every worker has it already: the very first requests fault.
  for (let i = 0; i < 10; i++) expect((await send("/waited")).status).toBe(503);
  const status = JSON.parse(await kubectl(kube, ["get", "fip", "waited", "-o", "json"])).status;
  const propagated = status.conditions.find((c: { type: string }) => c.type === "Propagated");
  expect(propagated).toMatchObject({ status: "True", reason: "Applied", observedGeneration: 1 });
  // Each Envoy worker polls on its own (and the main thread too): all of them have it.
  const [, applied, targeted] = /^(\d+)\/(\d+) targeted proxies have it$/.exec(propagated.message) ?? [];
  expect(Number(targeted)).toBeGreaterThanOrEqual(2);
  expect(applied).toBe(targeted);
  await kubectl(kube, ["delete", "fip", "waited"]);
}, 60_000);

test("an invalid policy is refused by the API server, naming the field, and Envoy is unchanged", async () => {
  const result = await kube.kubectl(["-n", namespace, "apply", "-f", "-"], abortPolicy("bad", "/", 700));
  expect(result.exitCode).not.toBe(0);
  expect(result.stderr).toContain("spec.fault.abort.httpStatus");
  expect((await send("/")).status).toBe(200);
});

test("--all-namespaces: a policy of another namespace faults that namespace's Envoy unless its selector says otherwise; hfi policy -n/-A work across namespaces", async () => {
  const [home, shop, billing] = [
    await kube.createNamespace("home"),
    await kube.createNamespace("shop"),
    await kube.createNamespace("billing"),
  ];
  // This Envoy says it is in `shop`.
  const shopStack = await startLocalStack({
    serveArgs: [
      "--store",
      "kubernetes",
      "--kubeconfig",
      kube.kubeconfig,
      "--namespace",
      home,
      "--all-namespaces",
    ],
    pluginConfig: { namespace: shop },
  });
  try {
    const cli = (args: string[], stdin?: string) =>
      hfi(args, { command: [HFI_BIN], env: { HFI_CONTROL_PLANE_ADDR: shopStack.controlPlaneUrl }, stdin });
    const inNamespace = (ns: string, name: string, prefix: string, httpStatus: number, selector?: object) =>
      JSON.stringify({
        apiVersion: "hfi.dev/v1alpha1",
        kind: "FaultInjectionPolicy",
        metadata: { name, namespace: ns },
        spec: {
          ...(selector && { selector }),
          match: { path: { prefix } },
          fault: { abort: { httpStatus } },
        },
      });
    for (const doc of [
      inNamespace(home, "fleet-wide", "/fleet", 500),
      inNamespace(shop, "own", "/shop", 502),
      inNamespace(billing, "own", "/billing", 503),
      inNamespace(billing, "to-shop", "/cross", 504, { namespace: shop }),
    ]) {
      expect((await kube.kubectl(["apply", "-f", "-"], doc)).exitCode).toBe(0);
    }
    const statusSoon = (path: string, status: number) =>
      expectSoon(
        () => sendThrough(shopStack.envoyUrl, path),
        (s) => s.status === status,
        10,
        PROPAGATION_LIMIT_MS,
      );
    expect((await statusSoon("/fleet", 500)).fault).toBe("fleet-wide");
    expect((await statusSoon("/shop", 502)).fault).toBe("own");
    expect((await statusSoon("/cross", 504)).fault).toBe("to-shop");
    // billing's own policy targets billing's proxies, not this one.
    for (let i = 0; i < 10; i++) expect((await sendThrough(shopStack.envoyUrl, "/billing")).status).toBe(200);

    const all = await cli(["policy", "get", "-A"]);
    expect(all.stderr).toBe("");
    const rows = all.stdout.split("\n").map((line) => line.split(/ +/).slice(0, 2).join(" "));
    expect(rows[0]).toBe("NAMESPACE NAME");
    expect(rows.filter((row) => [home, shop, billing].includes(row.split(" ")[0] ?? ""))).toEqual(
      [`${home} fleet-wide`, `${shop} own`, `${billing} own`, `${billing} to-shop`].sort(),
    );
    const inBilling = await cli(["policy", "get", "-n", billing, "-o", "wide"]);
    expect(inBilling.stdout).toContain(`namespace=${billing}`);
    expect(inBilling.stdout).toContain(`namespace=${shop}`);

    expect((await cli(["policy", "delete", "own", "-n", shop])).stdout).toBe(
      "faultinjectionpolicy.hfi.dev/own deleted\n",
    );
    expect((await statusSoon("/shop", 200)).fault).toBeNull();
    const applied = await cli(
      ["policy", "apply", "-n", shop, "-f", "-"],
      abortPolicy("again", "/again", 418),
    );
    expect(applied.stdout).toBe("faultinjectionpolicy.hfi.dev/again created\n");
    expect((await statusSoon("/again", 418)).fault).toBe("again");
    const fromKubectl = JSON.parse(
      (await kube.kubectl(["get", "fip", "again", "-n", shop, "-o", "json"])).stdout,
    );
    expect(fromKubectl.metadata.namespace).toBe(shop);
  } finally {
    await shopStack.stop();
  }
}, 120_000);

test("with the API server down Envoy keeps its rules; changes made meanwhile arrive when it is back (410 → relist)", async () => {
  await kubectl(kube, ["apply", "-f", "-"], abortPolicy("kept", "/kept", 503));
  await kubectl(kube, ["apply", "-f", "-"], abortPolicy("removed", "/removed", 502));
  await expectStatusSoon("/kept", "GET", 503);
  await expectStatusSoon("/removed", "GET", 502);

  await kube.kill();
  // While hfi's API server is down, the other one changes the policies; etcd compacts the history,
  // so hfi's watch cannot resume where it stopped (410 Gone) and it has to list again.
  await kubectl(peer, ["delete", "fip", "removed"]);
  await kubectl(peer, ["apply", "-f", "-"], abortPolicy("added", "/added", 504));
  await kube.etcd.compact();
  await Bun.sleep(1000);
  expect((await send("/kept")).status).toBe(503);
  expect((await send("/removed")).status).toBe(502);

  await kube.start();
  await expectSoon(
    () => send("/added"),
    (s) => s.status === 504,
    10,
    RECOVERY_LIMIT_MS,
  );
  await expectStatusSoon("/removed", "GET", 200);
  expect((await send("/kept")).status).toBe(503);
  const log = await Bun.file(join(stack.logDir, "hfi.log")).text();
  expect(log).toContain("410 Gone");
}, 120_000);

test("two hfi replicas elect a leader through a Lease, which hfi status names; after a kill -9 of the leader the other leads and ends timed policies", async () => {
  const ns = await kube.createNamespace("replicas");
  const store = { type: "kubernetes", kubeconfig: kube.kubeconfig, namespace: ns } as const;
  const replicas = await Promise.all(
    [0, 1].map(async () =>
      startHfiReplica({ port: await freePort(), store, logDir: stack.logDir, leaseTtlSeconds: 3 }),
    ),
  );
  /** Replicas are named `<host>-<pid>`; the leader holds the Lease in that name. */
  const nameOf = (i: number) => (replicas[i] as HfiReplica).name;
  const statusOf = async (i: number) => {
    const run = await hfi(["status", "-o", "json"], {
      command: [HFI_BIN],
      env: { HFI_CONTROL_PLANE_ADDR: replicas[i]?.url ?? "" },
    });
    expect(run.stderr).toBe("");
    return JSON.parse(run.stdout) as { replica: string; leader: string | null; replicas: string[] };
  };
  try {
    const holder = async () => {
      const lease = await kube.kubectl(["get", "lease", "hfi-leader", "-n", ns, "-o", "json"]);
      return lease.exitCode === 0 ? (JSON.parse(lease.stdout).spec.holderIdentity as string) : "";
    };
    const leaderOf = async (among: number[]) => {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const identity = await holder();
        const found = among.find((i) => identity === nameOf(i));
        if (found !== undefined) return found;
        await Bun.sleep(100);
      }
      throw new Error(`none of replicas ${among} holds the Lease (holder: ${await holder()})`);
    };
    const first = await leaderOf([0, 1]);
    // Each replica names the Lease's holder as the leader, itself as the replica that answers.
    await expectSoon(
      async () => [await statusOf(0), await statusOf(1)],
      (statuses) => statuses.every((s, i) => s.leader === nameOf(first) && s.replica === nameOf(i)),
      3,
      10_000,
    );
    // hfi_leader is 1 on the leader alone, which alone reports the fleet's proxies (none poll these).
    const metricsOf = async (i: number) => await (await fetch(`${replicas[i]?.url}/metrics`)).text();
    for (const i of [0, 1]) {
      const metrics = await metricsOf(i);
      expect([i, /^hfi_leader (\d)$/m.exec(metrics)?.[1]]).toEqual([i, i === first ? "1" : "0"]);
      const live = /^hfi_fleet_proxies\{state="live"\} (\d+)$/m.exec(metrics)?.[1];
      expect([i, live]).toEqual([i, i === first ? "0" : undefined]);
    }
    // Both see both replicas, through each one's Lease.
    expect((await statusOf(0)).replicas).toEqual([nameOf(0), nameOf(1)].sort());
    replicas[first]?.proc.kill("SIGKILL");
    const second = await leaderOf([1 - first]);
    expect(second).toBe(1 - first);
    await expectSoon(
      () => statusOf(second),
      // The killed replica's Lease runs out too: it leaves the fleet.
      (status) => status.leader === nameOf(second) && status.replicas.join() === nameOf(second),
      3,
      10_000,
    );

    // The new leader does the leader's work: a timed policy applied with kubectl ends on time.
    const timed = JSON.stringify({
      apiVersion: "hfi.dev/v1alpha1",
      kind: "FaultInjectionPolicy",
      metadata: { name: "timed", namespace: ns },
      spec: { duration: "2s", fault: { abort: { httpStatus: 503 } } },
    });
    expect((await kube.kubectl(["apply", "-f", "-"], timed)).exitCode).toBe(0);
    const wait = await kube.kubectl(["wait", "-n", ns, "--for=delete", "--timeout=20s", "fip/timed"]);
    expect(wait.exitCode).toBe(0);
  } finally {
    for (const replica of replicas) await terminate(replica.proc);
  }
}, 90_000);

test("Propagated counts the proxies polling any replica: an Envoy on a replica that does not lead holds kubectl wait until it has the policy", async () => {
  const ns = await kube.createNamespace("propagated");
  const store = { type: "kubernetes", kubeconfig: kube.kubeconfig, namespace: ns } as const;
  const serve = async () =>
    startHfiReplica({ port: await freePort(), store, logDir: stack.logDir, leaseTtlSeconds: 3 });
  // The first replica leads before the second starts; the Envoy polls the second alone.
  const leader = await serve();
  const replicas = [leader];
  try {
    const holder = async () =>
      JSON.parse((await kube.kubectl(["get", "lease", "hfi-leader", "-n", ns, "-o", "json"])).stdout || "{}")
        .spec?.holderIdentity;
    await expectSoon(holder, (h) => h === leader.name, 1, 20_000);
    const follower = await serve();
    replicas.push(follower);
    const envoy = await startLocalStack({ concurrency: 2, controlPlanePort: follower.port });
    try {
      const apply = async (name: string) => {
        const policy = JSON.parse(abortPolicy(name, `/${name}`, 503));
        policy.metadata.namespace = ns;
        expect((await kube.kubectl(["apply", "-f", "-"], JSON.stringify(policy))).exitCode).toBe(0);
      };
      const propagatedOf = async (name: string) => {
        const got = await kube.kubectl(["get", "fip", name, "-n", ns, "-o", "json"]);
        const conditions = JSON.parse(got.stdout || "{}").status?.conditions ?? [];
        const message = conditions.find((c: { type: string }) => c.type === "Propagated")?.message ?? "";
        const [, applied, targeted] = /^(\d+)\/(\d+) targeted proxies have it$/.exec(message) ?? [];
        return { applied: Number(applied), targeted: Number(targeted) };
      };
      // The leader counts the workers polling the follower: the follower's Lease lists them.
      await apply("probe");
      await expectSoon(
        () => propagatedOf("probe"),
        (p) => p.targeted >= 2 && p.applied === p.targeted,
        1,
        20_000,
      );
      await apply("held");
      const wait = await kube.kubectl([
        "wait",
        "-n",
        ns,
        "--for=condition=Propagated",
        "--timeout=30s",
        "fip/held",
      ]);
      expect(wait.stdout).toContain("condition met");
      const held = await propagatedOf("held");
      expect(held.targeted).toBeGreaterThanOrEqual(2);
      expect(held.applied).toBe(held.targeted);
      // Every worker has it already: the very first requests fault.
      for (let i = 0; i < 10; i++) expect((await sendThrough(envoy.envoyUrl, "/held")).status).toBe(503);
    } finally {
      await envoy.stop();
    }
  } finally {
    for (const replica of replicas) await terminate(replica.proc);
  }
}, 120_000);
