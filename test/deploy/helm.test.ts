/**
 * The Helm chart (deploy/helm/hfi) through the real helm: lint and template for the default values and
 * each combination that changes what is rendered; every rendered object validated against the
 * Kubernetes schemas, the restricted Pod Security Standard and its references; the values the chart
 * must refuse. helm missing is a failure (see support/helm.ts), not a skip.
 */
import { expect, describe as group, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { COMBINATIONS } from "./support/combinations.ts";
import {
  CHART_DIR,
  findHelm,
  helmLint,
  helmTemplate,
  ROOT,
  renderChart,
  renderNotes,
} from "./support/helm.ts";
import { validateObject } from "./support/k8s-schema.ts";
import { checkPodSecurity, checkReferences, describe, type K8sObject, podOf } from "./support/manifests.ts";

// biome-ignore lint/suspicious/noExplicitAny: rendered objects are walked as plain parsed YAML
type Any = any;

const rendered = new Map<string, K8sObject[]>();
function render(name: string): K8sObject[] {
  if (!rendered.has(name)) rendered.set(name, renderChart(COMBINATIONS[name]!.values));
  return rendered.get(name)!;
}
const find = (objects: K8sObject[], kind: string, name: string): Any =>
  objects.find((o) => o.kind === kind && o.metadata?.name === name);
const controlPlaneArgs = (objects: K8sObject[]): string[] =>
  find(objects, "Deployment", "hfi-control-plane").spec.template.spec.containers[0].args;

test("helm is installed (scripts/setup.sh --test)", () => {
  expect(findHelm()).toBeString();
});

test("Chart appVersion and the default image tags follow package.json", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const chart = parse(readFileSync(join(CHART_DIR, "Chart.yaml"), "utf8"));
  expect(chart.appVersion).toBe(pkg.version);
  const images = render("default").flatMap((o) => podOf(o)?.spec.containers.map((c: Any) => c.image) ?? []);
  expect(images).toContain(`hfi:${pkg.version}`);
});

for (const [name, { values, external }] of Object.entries(COMBINATIONS)) {
  group(`values: ${name}`, () => {
    test("helm lint --strict passes", () => {
      const result = helmLint(values);
      expect(result.stderr + result.stdout).toContain("0 chart(s) failed");
      expect(result.exitCode).toBe(0);
    });

    test("every rendered object is valid against the Kubernetes schemas", async () => {
      const objects = render(name);
      expect(objects.length).toBeGreaterThanOrEqual(4);
      const problems = await Promise.all(
        objects.map(async (o) => (await validateObject(o)).map((p) => `${describe(o)}: ${p}`)),
      );
      expect(problems.flat()).toEqual([]);
    });

    test("pods meet the restricted Pod Security Standard; references resolve", () => {
      const objects = render(name);
      expect(objects.flatMap(checkPodSecurity)).toEqual([]);
      expect(checkReferences(objects, external)).toEqual([]);
      // Everything namespaced is in the release namespace; cluster-scoped RBAC has no namespace.
      for (const o of objects) {
        const clusterScoped = o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding";
        expect(o.metadata?.namespace).toBe(clusterScoped ? undefined : "hfi");
      }
    });
  });
}

test("default: one memory-store replica, the sample app and its Envoy ConfigMap, no etcd, no auth", () => {
  const objects = render("default");
  const deployment = find(objects, "Deployment", "hfi-control-plane");
  expect(deployment.spec.replicas).toBe(1);
  expect(deployment.spec.strategy).toEqual({ type: "Recreate" });
  expect(controlPlaneArgs(objects)).toContain("--store=memory");
  expect(controlPlaneArgs(objects).some((a) => a.startsWith("--etcd") || a.startsWith("--auth"))).toBe(false);
  expect(find(objects, "Service", "hfi-control-plane").spec.type).toBe("ClusterIP");
  expect(find(objects, "ConfigMap", "hfi-envoy")).toBeDefined();
  expect(find(objects, "Deployment", "hfi-sample-app")).toBeDefined();
  expect(
    objects.some((o) => o.kind === "StatefulSet" || o.kind === "Secret" || o.kind === "PodDisruptionBudget"),
  ).toBe(false);
});

test("etcd (demo): two replicas on the bundled etcd, a PodDisruptionBudget", () => {
  const objects = render("etcd (demo)");
  expect(find(objects, "Deployment", "hfi-control-plane").spec.replicas).toBe(2);
  expect(controlPlaneArgs(objects)).toEqual(
    expect.arrayContaining([
      "--store=etcd",
      "--etcd-endpoints=http://hfi-etcd.hfi.svc.cluster.local:2379",
      "--etcd-prefix=hfi/",
    ]),
  );
  const etcd = find(objects, "StatefulSet", "hfi-etcd");
  expect(etcd.spec.replicas).toBe(1);
  expect(etcd.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe("1Gi");
  expect(find(objects, "Service", "hfi-etcd").spec.clusterIP).toBe("None");
  expect(find(objects, "PodDisruptionBudget", "hfi-control-plane").spec.minAvailable).toBe(1);
});

test("kubernetes: a Role on the release namespace's policies, halt and Lease; nothing cluster-wide", () => {
  const objects = render("kubernetes");
  expect(controlPlaneArgs(objects)).toContain("--store=kubernetes");
  expect(controlPlaneArgs(objects)).not.toContain("--all-namespaces");
  expect(
    find(objects, "Role", "hfi-control-plane").rules.flatMap((r: { resources: string[] }) => r.resources),
  ).toEqual(["faultinjectionpolicies", "faultinjectionhalts", "faultinjectionpolicies/status", "leases"]);
  expect(objects.some((o) => o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding")).toBe(false);
});

test("kubernetes (all namespaces): --all-namespaces, a ClusterRole on policies alone, the halt and Lease in a Role", () => {
  const objects = render("kubernetes (all namespaces)");
  expect(controlPlaneArgs(objects)).toEqual(
    expect.arrayContaining(["--store=kubernetes", "--all-namespaces"]),
  );
  const resources = (o: { rules: { resources: string[] }[] }) => o.rules.flatMap((r) => r.resources);
  expect(resources(find(objects, "Role", "hfi-control-plane"))).toEqual(["faultinjectionhalts", "leases"]);
  const clusterRole = find(objects, "ClusterRole", "hfi-hfi-control-plane");
  expect(resources(clusterRole)).toEqual(["faultinjectionpolicies", "faultinjectionpolicies/status"]);
  const binding = find(objects, "ClusterRoleBinding", "hfi-hfi-control-plane");
  expect(binding.roleRef).toEqual({
    apiGroup: "rbac.authorization.k8s.io",
    kind: "ClusterRole",
    name: "hfi-hfi-control-plane",
  });
  expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "hfi-control-plane", namespace: "hfi" }]);
});

test("etcd (external cluster): the given endpoints, no bundled etcd", () => {
  const objects = render("etcd (external cluster)");
  expect(controlPlaneArgs(objects)).toContain(
    "--etcd-endpoints=http://etcd-0.etcd:2379,http://etcd-1.etcd:2379",
  );
  expect(objects.some((o) => o.kind === "StatefulSet")).toBe(false);
});

test("auth (inline tokens): a Secret of writer:/reader: lines mounted for --auth-token-file", () => {
  const objects = render("auth (inline tokens)");
  const secret = find(objects, "Secret", "hfi-auth");
  expect(secret.stringData.tokens).toBe("writer:w-secret\nreader:r-secret\n");
  expect(controlPlaneArgs(objects)).toContain("--auth-token-file=/etc/hfi/auth/tokens");
  const pod = find(objects, "Deployment", "hfi-control-plane").spec.template;
  expect(pod.spec.volumes[0].secret.secretName).toBe("hfi-auth");
  expect(pod.spec.containers[0].volumeMounts[0]).toEqual({
    name: "auth",
    mountPath: "/etc/hfi/auth",
    readOnly: true,
  });
  expect(pod.metadata.annotations["checksum/auth"]).toMatch(/^[0-9a-f]{64}$/);
  // The filter's long-poll must pass auth too: it sends the reader token.
  expect(filterPluginConfig(objects)).toMatchObject({ cluster: "hfi_control_plane", token: "r-secret" });
});

test("auth (existing secret): mounts it and creates none", () => {
  const objects = render("auth (existing secret)");
  expect(objects.some((o) => o.kind === "Secret")).toBe(false);
  const pod = find(objects, "Deployment", "hfi-control-plane").spec.template.spec;
  expect(pod.volumes[0].secret.secretName).toBe("hfi-tokens");
  expect(filterPluginConfig(objects).token).toBe("r-from-the-secret");
});

/** The hfi filter's plugin configuration inside the rendered Envoy ConfigMap. */
function filterPluginConfig(objects: K8sObject[]): Record<string, unknown> {
  const envoy = parse(find(objects, "ConfigMap", "hfi-envoy").data["envoy.yaml"]);
  const hcm = envoy.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  const wasm = hcm.http_filters.find((f: Any) => f.name === "envoy.filters.http.wasm");
  return JSON.parse(wasm.typed_config.config.configuration.value);
}

test("sample app off: only the control plane (and its helm test)", () => {
  const kinds = render("sample app off").map(describe).sort();
  expect(kinds).toEqual([
    "Deployment/hfi-control-plane",
    "Pod/hfi-control-plane-test",
    "Service/hfi-control-plane",
    "ServiceAccount/hfi-control-plane",
  ]);
});

test("the sample app: initContainer copies the filter into the emptyDir Envoy loads it from", () => {
  const pod = find(render("default"), "Deployment", "hfi-sample-app").spec.template.spec;
  const [init] = pod.initContainers;
  expect(init.image).toBe("hfi-filter:0.1.0");
  expect(init.command).toEqual(["cp", "/hfi/hfi-filter.wasm", "/filter/hfi-filter.wasm"]);
  expect(init.volumeMounts).toEqual([{ name: "hfi-filter", mountPath: "/filter" }]);
  const envoy = pod.containers.find((c: Any) => c.name === "envoy");
  expect(envoy.volumeMounts).toContainEqual({
    name: "hfi-filter",
    mountPath: "/etc/envoy/hfi-filter.wasm",
    subPath: "hfi-filter.wasm",
    readOnly: true,
  });
  expect(pod.volumes.find((v: Any) => v.name === "hfi-filter").emptyDir).toBeDefined();
  const service = find(render("default"), "Service", "hfi-sample-app");
  expect(service.spec.ports[0].targetPort).toBe("http");
  expect(envoy.ports).toContainEqual({ name: "http", containerPort: 8000 });
});

test("the sample app's Envoy runs without hot restart and reports the pod's name as its node id", () => {
  const pod = find(render("default"), "Deployment", "hfi-sample-app").spec.template.spec;
  const envoy = pod.containers.find((c: Any) => c.name === "envoy");
  expect(envoy.args).toEqual(
    expect.arrayContaining([
      "--disable-hot-restart",
      "--service-node=$(POD_NAME)",
      "--service-cluster=hfi-sample-app",
    ]),
  );
  expect(envoy.env).toContainEqual({
    name: "POD_NAME",
    valueFrom: { fieldRef: { fieldPath: "metadata.name" } },
  });
});

group("values the chart refuses", () => {
  const refusals: [string, object, string][] = [
    ["two memory-store replicas", { controlPlane: { replicas: 2 } }, "needs store.type=etcd"],
    ["etcd without endpoints or the demo", { store: { type: "etcd" } }, "needs store.etcd.endpoints"],
    [
      "the demo etcd with the memory store",
      { etcdDemo: { enabled: true } },
      "etcdDemo.enabled needs store.type=etcd",
    ],
    ["auth without tokens", { auth: { enabled: true } }, "auth.enabled needs auth.existingSecret"],
    [
      "auth with the sample app but no token for its filter",
      { auth: { enabled: true, existingSecret: "hfi-tokens" } },
      "its filter needs a token for the long-poll",
    ],
    ["an unknown store", { store: { type: "redis" } }, "at '/store/type': value must be one of"],
    [
      "an unknown key (typo)",
      { controlPlane: { replica: 2 } },
      "additional properties 'replica' not allowed",
    ],
    [
      "an etcd endpoint without a scheme",
      { store: { type: "etcd", etcd: { endpoints: ["etcd:2379"] } } },
      "'etcd:2379' does not match",
    ],
  ];
  for (const [what, values, message] of refusals) {
    test(what, () => {
      const result = helmTemplate(values);
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toContain(message);
    });
  }
});

group("NOTES.txt", () => {
  test("default: port-forward, apply with curl or hfi policy apply, see the fault", () => {
    const notes = renderNotes({});
    expect(notes).toContain("kubectl -n hfi port-forward svc/hfi-control-plane 8080:8080");
    expect(notes).toContain(
      "--data-binary @examples/abort.yaml http://127.0.0.1:8080/v1/policies/checkout-abort",
    );
    expect(notes).toContain(
      "hfi policy apply -f examples/abort.yaml --control-plane-addr http://127.0.0.1:8080",
    );
    expect(notes).toContain("kubectl -n hfi port-forward svc/hfi-sample-app 8000:80");
    expect(notes).toContain("x-hfi-fault: checkout-abort");
    expect(notes).toContain("wasmcustom.hfi");
    expect(notes).toContain("memory store forgets every policy");
  });

  test("auth and the demo etcd: the token is read from the Secret and sent; the demo is flagged", () => {
    const notes = renderNotes({
      store: { type: "etcd" },
      etcdDemo: { enabled: true },
      auth: { enabled: true, writerToken: "w", readerToken: "r" },
    });
    expect(notes).toContain("get secret hfi-auth");
    expect(notes).toContain('-H "authorization: Bearer $HFI_TOKEN"');
    expect(notes).toContain("etcdDemo is a single-member etcd");
  });
});
