import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createConsola } from "consola";
import { startTestKubeApiServer, type TestKubeApiServer } from "../../test/support/kube-apiserver.ts";
import { createDistributor } from "../distributor/index.ts";
import { createKubeClient, kubeconfigConnection } from "../kubernetes/client.ts";
import type { Policy } from "../policy/index.ts";
import { describeStoreContract, expectCode } from "./contract-suite.ts";
import { createKubernetesStore, EXPIRES_AT_ANNOTATION } from "./kubernetes.ts";
import type { PolicyStore, WatchEvent } from "./types.ts";

// Each test runs kubectl or waits for a real API server, which take seconds on a busy machine.
setDefaultTimeout(30_000);
const quiet = createConsola({ level: -999 });
let kube: TestKubeApiServer;

beforeAll(async () => {
  kube = await startTestKubeApiServer();
  await kube.installCrds();
}, 180_000);

afterAll(async () => {
  await kube?.stop();
});

/** A store on a namespace no other test uses, so every test starts empty. */
async function openStore(namespace?: string, writeStatus = false): Promise<PolicyStore> {
  return createKubernetesStore({
    writeStatus,
    client: createKubeClient(kubeconfigConnection(kube.kubeconfig)),
    namespace: namespace ?? (await kube.createNamespace()),
    logger: quiet,
    onWatcherError: () => {},
  });
}

describeStoreContract("kubernetes", () => openStore());

function policyYaml(name: string, namespace: string, httpStatus: number): string {
  return JSON.stringify({
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: { name, namespace },
    spec: { fault: { abort: { httpStatus } } },
  });
}

function policy(name: string, httpStatus = 503): Policy {
  return {
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: { name },
    spec: { priority: 0, fault: { percentage: 100, abort: { httpStatus, body: "" } } },
  };
}

describe("kubernetes store", () => {
  test("a policy is a FaultInjectionPolicy: kubectl sees hfi's writes, hfi sees kubectl's", async () => {
    const namespace = await kube.createNamespace();
    const store = await openStore(namespace);
    try {
      const events: WatchEvent[] = [];
      store.watch((e) => {
        events.push(e);
      });
      const written = await store.create(policy("from-hfi", 502));
      const got = await kube.kubectl(["get", "fip", "from-hfi", "-n", namespace, "-o", "json"]);
      const object = JSON.parse(got.stdout);
      expect(object.spec.fault.abort.httpStatus).toBe(502);
      expect(object.metadata.resourceVersion).toBe(written.metadata.resourceVersion);

      const applied = await kube.kubectl(["apply", "-f", "-"], policyYaml("from-kubectl", namespace, 418));
      expect(applied.stderr).toBe("");
      const deadline = Date.now() + 5000;
      while (
        Date.now() < deadline &&
        !(await store.list()).items.some((p) => p.metadata.name === "from-kubectl")
      )
        await Bun.sleep(20);
      const listed = await store.list();
      expect(listed.items.map((p) => [p.metadata.name, p.spec.fault.abort?.httpStatus])).toEqual([
        ["from-hfi", 502],
        ["from-kubectl", 418],
      ]);
      // Defaults come from the CRD's schema, as hfi's own validation would fill them in.
      expect(listed.items[1]?.spec).toEqual({
        priority: 0,
        fault: { percentage: 100, abort: { httpStatus: 418, body: "" } },
      });
      expect(events.map((e) => e.type)).toEqual(["put", "put"]);
    } finally {
      await store.close();
    }
  });

  test("a duration is the expires-at annotation, written with the spec", async () => {
    const namespace = await kube.createNamespace();
    const store = await openStore(namespace);
    try {
      const timed = { ...policy("timed"), spec: { ...policy("timed").spec, duration: "1h" } };
      const stored = await store.create(timed);
      const got = JSON.parse(
        (await kube.kubectl(["get", "fip", "timed", "-n", namespace, "-o", "json"])).stdout,
      );
      expect(got.metadata.annotations[EXPIRES_AT_ANNOTATION]).toBe(stored.status?.expiresAt);
    } finally {
      await store.close();
    }
  });

  test("the status says whether the policy compiles, for which generation: kubectl wait --for=condition=Accepted", async () => {
    const namespace = await kube.createNamespace();
    const store = await openStore(namespace, true);
    try {
      const events: WatchEvent[] = [];
      store.watch((e) => {
        events.push(e);
      });
      await store.create({ ...policy("timed"), spec: { ...policy("timed").spec, duration: "1h" } });
      const wait = await kube.kubectl([
        "wait",
        "-n",
        namespace,
        "--for=condition=Accepted",
        "--timeout=20s",
        "fip/timed",
      ]);
      expect(wait.stdout).toContain("condition met");
      const object = JSON.parse(
        (await kube.kubectl(["get", "fip", "timed", "-n", namespace, "-o", "json"])).stdout,
      );
      expect(object.status).toMatchObject({
        observedGeneration: 1,
        expiresAt: object.metadata.annotations[EXPIRES_AT_ANNOTATION],
        conditions: [{ type: "Accepted", status: "True", reason: "Compiled", observedGeneration: 1 }],
      });
      // The status write is no change of the policy: no event, no new revision.
      expect(events.map((e) => e.type)).toEqual(["put"]);

      // Valid to the CRD's schema, but over the regex DFA cap: refused by hfi, left out of the rule set.
      const tooBig = JSON.stringify({
        apiVersion: "hfi.dev/v1alpha1",
        kind: "FaultInjectionPolicy",
        metadata: { name: "too-big", namespace },
        spec: { match: { path: { regex: "/(a|b)*a(a|b){12}" } }, fault: { abort: { httpStatus: 503 } } },
      });
      expect((await kube.kubectl(["apply", "-f", "-"], tooBig)).exitCode).toBe(0);
      const refused = await kube.kubectl([
        "wait",
        "-n",
        namespace,
        "--for=condition=Accepted=False",
        "--timeout=20s",
        "fip/too-big",
      ]);
      expect(refused.stdout).toContain("condition met");
      const status = JSON.parse(
        (await kube.kubectl(["get", "fip", "too-big", "-n", namespace, "-o", "json"])).stdout,
      ).status;
      expect(status.conditions[0]).toMatchObject({ type: "Accepted", status: "False", reason: "Invalid" });
      expect(status.conditions[0].message).toStartWith("spec.match.path.regex: ");
      expect((await store.list()).items.map((p) => p.metadata.name)).toEqual(["timed"]);
    } finally {
      await store.close();
    }
  }, 60_000);

  test("a timed policy applied with kubectl gets its expiry, and is deleted then", async () => {
    const namespace = await kube.createNamespace();
    const store = await openStore(namespace, true);
    try {
      const events: WatchEvent[] = [];
      store.watch((e) => {
        events.push(e);
      });
      const timed = JSON.stringify({
        apiVersion: "hfi.dev/v1alpha1",
        kind: "FaultInjectionPolicy",
        metadata: { name: "timed", namespace },
        spec: { duration: "2s", fault: { abort: { httpStatus: 503 } } },
      });
      const before = Date.now();
      expect((await kube.kubectl(["apply", "-f", "-"], timed)).exitCode).toBe(0);
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && !events.some((e) => e.type === "delete")) await Bun.sleep(50);
      const put = events.find((e) => e.type === "put" && "policy" in e && e.policy.status?.expiresAt);
      const expiresAt = Date.parse((put && "policy" in put && put.policy.status?.expiresAt) || "");
      expect(expiresAt).toBeGreaterThanOrEqual(before + 2000 - 1000);
      expect(events.at(-1)).toMatchObject({ type: "delete", reason: "expired" });
      const gone = await kube.kubectl(["get", "fip", "timed", "-n", namespace]);
      expect(gone.stderr).toContain("NotFound");
    } finally {
      await store.close();
    }
  }, 30_000);

  test("kubectl can halt: a FaultInjectionHalt named fleet halts the namespace, deleting it resumes", async () => {
    const namespace = await kube.createNamespace();
    const store = await openStore(namespace);
    try {
      const events: WatchEvent[] = [];
      store.watch((e) => {
        events.push(e);
      });
      const halt = (name: string) =>
        JSON.stringify({
          apiVersion: "hfi.dev/v1alpha1",
          kind: "FaultInjectionHalt",
          metadata: { name, namespace },
          spec: { reason: "incident 7", by: "oncall" },
        });
      const misnamed = await kube.kubectl(["apply", "-f", "-"], halt("other"));
      expect(misnamed.stderr).toContain("metadata.name");
      expect((await kube.kubectl(["apply", "-f", "-"], halt("fleet"))).exitCode).toBe(0);
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && events.length === 0) await Bun.sleep(20);
      expect(events[0]).toMatchObject({ type: "halt", halt: { reason: "incident 7", by: "oncall" } });
      expect((await store.state()).halt).toMatchObject({ reason: "incident 7" });
      await expectCode(store.create(policy("a")), "Locked");

      expect((await kube.kubectl(["delete", "fih", "fleet", "-n", namespace])).exitCode).toBe(0);
      while (Date.now() < deadline + 5000 && events.length < 2) await Bun.sleep(20);
      expect(events[1]).toMatchObject({ type: "resume", halt: { reason: "incident 7" } });
      expect((await store.create(policy("a"))).metadata.name).toBe("a");
    } finally {
      await store.close();
    }
  });
});

describe("kubernetes store of every namespace", () => {
  /** A store of every namespace, at home in `home`. */
  async function openAllNamespaces(home: string): Promise<PolicyStore> {
    return createKubernetesStore({
      client: createKubeClient(kubeconfigConnection(kube.kubeconfig)),
      namespace: home,
      allNamespaces: true,
      logger: quiet,
      onWatcherError: () => {},
    });
  }

  const inNamespace = (name: string, namespace: string, httpStatus = 503): Policy => ({
    ...policy(name, httpStatus),
    metadata: { name, namespace },
  });

  test("one name in several namespaces is several policies; each read and delete names its namespace", async () => {
    const [home, shop, billing] = [
      await kube.createNamespace(),
      await kube.createNamespace(),
      await kube.createNamespace(),
    ];
    const store = await openAllNamespaces(home);
    try {
      expect(store.namespaces).toEqual({ home, all: true });
      await store.create(policy("abort", 500));
      await store.create(inNamespace("abort", shop, 502));
      const applied = await kube.kubectl(["apply", "-f", "-"], policyYaml("abort", billing, 418));
      expect(applied.exitCode).toBe(0);
      const ours = async () =>
        (await store.list()).items
          .filter((p) => [home, shop, billing].includes(p.metadata.namespace))
          .map((p) => `${p.metadata.namespace}/${p.metadata.name}=${p.spec.fault.abort?.httpStatus}`);
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && (await ours()).length < 3) await Bun.sleep(20);
      expect(await ours()).toEqual([`${home}/abort=500`, `${shop}/abort=502`, `${billing}/abort=418`].sort());
      expect((await store.get("abort", shop)).spec.fault.abort?.httpStatus).toBe(502);
      expect((await store.get("abort")).spec.fault.abort?.httpStatus).toBe(500);
      const got = await kube.kubectl(["get", "fip", "abort", "-n", shop, "-o", "json"]);
      expect(JSON.parse(got.stdout).spec.fault.abort.httpStatus).toBe(502);

      expect((await store.delete("abort", shop)).metadata.namespace).toBe(shop);
      expect(await ours()).toEqual([`${home}/abort=500`, `${billing}/abort=418`].sort());
      await expectCode(store.get("abort", shop), "NotFound");
    } finally {
      await store.close();
    }
  });

  test("a policy outside the home namespace targets its own namespace's proxies unless its selector names one", async () => {
    const [home, shop, billing] = [
      await kube.createNamespace(),
      await kube.createNamespace(),
      await kube.createNamespace(),
    ];
    const store = await openAllNamespaces(home);
    try {
      await store.create(policy("everywhere"));
      await store.create(inNamespace("own", shop));
      const elsewhere = inNamespace("elsewhere", shop);
      elsewhere.spec = { ...elsewhere.spec, selector: { namespace: home, service: "web" } };
      await store.create(elsewhere);
      const selectors = Object.fromEntries(
        (await store.list()).items
          .filter((p) => [home, shop].includes(p.metadata.namespace))
          .map((p) => [p.metadata.name, p.spec.selector]),
      );
      expect(selectors).toEqual({
        everywhere: undefined,
        own: { namespace: shop },
        elsewhere: { namespace: home, service: "web" },
      });
      // Each namespace's proxies get their own policy of the name, not whichever was compiled first.
      const billingAbort = inNamespace("abort", billing, 502);
      const homeNamespaceOnly = {
        ...policy("abort", 418),
        spec: { ...policy("abort", 418).spec, selector: { namespace: home } },
      };
      await store.create(billingAbort);
      await store.create(homeNamespaceOnly);
      const distributor = await createDistributor(store, { logger: quiet, coalesceMs: 0 });
      try {
        const abortFor = (namespace: string) =>
          distributor
            .current({ service: "", namespace, labels: {} })
            .ruleSet.rules.filter((rule) => rule.name === "abort")
            .map((rule) => rule.fault.abort?.httpStatus);
        // Both are served "abort" and "everywhere": the same names, not the same rules.
        expect([abortFor(billing), abortFor(home)]).toEqual([[502], [418]]);
      } finally {
        distributor.close();
      }
      // The resource keeps what was written: the default is how hfi reads it.
      const own = JSON.parse((await kube.kubectl(["get", "fip", "own", "-n", shop, "-o", "json"])).stdout);
      expect(own.spec.selector).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
