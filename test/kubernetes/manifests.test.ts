/**
 * Every shipped manifest and the rendered Helm chart, applied with `kubectl apply --dry-run=server`
 * to a real kube-apiserver (with hfi's CRDs): admission, defaulting and the API's own validation, not
 * only the offline schemas of test/deploy. And one real `helm install` with the Kubernetes store.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { COMBINATIONS } from "../deploy/support/combinations.ts";
import { findHelm, helm, helmTemplate } from "../deploy/support/helm.ts";
import { startTestKubeApiServer, type TestKubeApiServer } from "../support/kube-apiserver.ts";
import { ROOT } from "../support/paths.ts";

// Each test runs kubectl or waits for a real API server, which take seconds on a busy machine.
setDefaultTimeout(30_000);
let kube: TestKubeApiServer;

beforeAll(async () => {
  kube = await startTestKubeApiServer();
  await kube.installCrds();
  // The manifests and the chart name this namespace (a dry run does not create it), and the chart's
  // test pod its default ServiceAccount (which no controller manager makes here).
  expect((await kube.kubectl(["create", "namespace", "hfi", "--save-config"])).exitCode).toBe(0);
  expect((await kube.kubectl(["create", "serviceaccount", "default", "-n", "hfi"])).exitCode).toBe(0);
}, 180_000);

afterAll(async () => {
  await kube?.stop();
});

async function dryRun(args: string[], stdin?: string) {
  return kube.kubectl(["apply", "--dry-run=server", ...args], stdin);
}

const manifestFiles = (dir: string) =>
  readdirSync(join(ROOT, dir))
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => `${dir}/${f}`);

test.each([...manifestFiles("deploy/k8s"), "deploy/crds/hfi.dev.yaml"])(
  "%s passes a server-side dry run",
  async (file) => {
    const result = await dryRun(["-f", join(ROOT, file)]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("(server dry run)");
  },
);

test.each(manifestFiles("deploy/istio"))(
  "%s passes a server-side dry run, but for the WasmPlugin (Istio's CRDs are not installed here)",
  async (file) => {
    const result = await dryRun(["-f", join(ROOT, file)]);
    const problems = result.stderr
      .split("\n")
      .filter(
        (line) =>
          line.trim() !== "" &&
          !/no matches for kind "WasmPlugin"|ensure CRDs are installed first/.test(line),
      );
    expect(problems).toEqual([]);
  },
);

test.each(Object.keys(COMBINATIONS))(
  "the chart rendered with values %s passes a server-side dry run",
  async (name) => {
    const rendered = helmTemplate(COMBINATIONS[name]!.values);
    expect(rendered.exitCode).toBe(0);
    const result = await dryRun(["-f", "-"], rendered.stdout);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("deployment.apps/hfi-control-plane created (server dry run)");
  },
);

test("helm install with store.type=kubernetes creates the control plane, its Role and RoleBinding", async () => {
  findHelm();
  const install = helm([
    "install",
    "hfi",
    join(ROOT, "deploy/helm/hfi"),
    "--kubeconfig",
    kube.kubeconfig,
    "--namespace",
    "hfi-helm",
    "--create-namespace",
    "--set",
    "store.type=kubernetes",
  ]);
  expect(install.stderr).toBe("");
  expect(install.exitCode).toBe(0);
  const role = await kube.kubectl(["get", "role", "hfi-control-plane", "-n", "hfi-helm", "-o", "json"]);
  expect(JSON.parse(role.stdout).rules[0].resources).toEqual([
    "faultinjectionpolicies",
    "faultinjectionhalts",
  ]);
  // The service account may do what the store does, and no more.
  const can = async (verb: string, resource: string, namespace = "hfi-helm", subresource?: string) =>
    (
      await kube.kubectl([
        "auth",
        "can-i",
        verb,
        resource,
        "-n",
        namespace,
        "--as=system:serviceaccount:hfi-helm:hfi-control-plane",
        ...(subresource ? [`--subresource=${subresource}`] : []),
      ])
    ).stdout.trim();
  expect(await can("watch", "faultinjectionpolicies.hfi.dev")).toBe("yes");
  expect(await can("create", "faultinjectionhalts.hfi.dev")).toBe("yes");
  expect(await can("update", "faultinjectionpolicies.hfi.dev", "hfi-helm", "status")).toBe("yes");
  expect(await can("update", "leases.coordination.k8s.io")).toBe("yes");
  // Each replica's own Lease lists its proxies; the replicas list each other's.
  expect(await can("list", "leases.coordination.k8s.io")).toBe("yes");
  expect(await can("delete", "leases.coordination.k8s.io")).toBe("yes");
  expect(await can("list", "faultinjectionpolicies.hfi.dev", "default")).toBe("no");
  expect(await can("list", "secrets")).toBe("no");
}, 60_000);

test("helm install with store.kubernetes.allNamespaces: every namespace's policies, the halt and Lease only at home", async () => {
  findHelm();
  const install = helm([
    "install",
    "hfi",
    join(ROOT, "deploy/helm/hfi"),
    "--kubeconfig",
    kube.kubeconfig,
    "--namespace",
    "hfi-helm-all",
    "--create-namespace",
    "--set",
    "store.type=kubernetes",
    "--set",
    "store.kubernetes.allNamespaces=true",
  ]);
  expect(install.stderr).toBe("");
  expect(install.exitCode).toBe(0);
  const can = async (verb: string, resource: string, namespace: string, subresource?: string) =>
    (
      await kube.kubectl([
        "auth",
        "can-i",
        verb,
        resource,
        "-n",
        namespace,
        "--as=system:serviceaccount:hfi-helm-all:hfi-control-plane",
        ...(subresource ? [`--subresource=${subresource}`] : []),
      ])
    ).stdout.trim();
  for (const namespace of ["hfi-helm-all", "default", "shop"]) {
    expect(await can("watch", "faultinjectionpolicies.hfi.dev", namespace)).toBe("yes");
    expect(await can("delete", "faultinjectionpolicies.hfi.dev", namespace)).toBe("yes");
    expect(await can("update", "faultinjectionpolicies.hfi.dev", namespace, "status")).toBe("yes");
  }
  expect(await can("create", "faultinjectionhalts.hfi.dev", "hfi-helm-all")).toBe("yes");
  expect(await can("update", "leases.coordination.k8s.io", "hfi-helm-all")).toBe("yes");
  expect(await can("create", "faultinjectionhalts.hfi.dev", "default")).toBe("no");
  expect(await can("update", "leases.coordination.k8s.io", "default")).toBe("no");
  expect(await can("list", "secrets", "hfi-helm-all")).toBe("no");
  expect(await can("list", "secrets", "default")).toBe("no");
}, 60_000);
