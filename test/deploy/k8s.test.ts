/**
 * The plain Kubernetes manifests (deploy/k8s): every object valid against the Kubernetes schemas, the
 * restricted Pod Security Standard on every pod, references resolved, and the shape D-1 asks for.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { ROOT } from "./support/helm.ts";
import { validateObject } from "./support/k8s-schema.ts";
import {
  checkPodSecurity,
  checkReferences,
  describe,
  type K8sObject,
  parseManifests,
} from "./support/manifests.ts";

// biome-ignore lint/suspicious/noExplicitAny: manifests are walked as plain parsed YAML
type Any = any;

const K8S_DIR = join(ROOT, "deploy/k8s");
const files = readdirSync(K8S_DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort();
const objects: K8sObject[] = files.flatMap((file) =>
  parseManifests(readFileSync(join(K8S_DIR, file), "utf8")),
);
const find = (kind: string, name: string): Any =>
  objects.find((o) => o.kind === kind && o.metadata?.name === name);

test("the manifests are the expected set, applied in file order (namespace first)", () => {
  expect(files).toEqual([
    "00-namespace.yaml",
    "10-etcd-demo.yaml",
    "20-control-plane.yaml",
    "30-envoy-configmap.yaml",
    "40-sample-app.yaml",
  ]);
  expect(objects.map(describe)).toEqual([
    "Namespace/hfi",
    "Service/hfi-etcd",
    "StatefulSet/hfi-etcd",
    "ServiceAccount/hfi-control-plane",
    "Deployment/hfi-control-plane",
    "Service/hfi-control-plane",
    "PodDisruptionBudget/hfi-control-plane",
    "ConfigMap/hfi-envoy",
    "Deployment/sample-app",
    "Service/sample-app",
  ]);
});

test("every object is valid against the Kubernetes schemas, with no unknown fields", async () => {
  const problems = await Promise.all(
    objects.map(async (o) => (await validateObject(o)).map((p) => `${describe(o)}: ${p}`)),
  );
  expect(problems.flat()).toEqual([]);
});

test("pods meet the restricted Pod Security Standard (enforced on the namespace); references resolve", () => {
  expect(objects.flatMap(checkPodSecurity)).toEqual([]);
  expect(checkReferences(objects)).toEqual([]);
  expect(find("Namespace", "hfi").metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
  for (const o of objects.filter((o) => o.kind !== "Namespace")) expect(o.metadata?.namespace).toBe("hfi");
});

test("control plane: 2 replicas on etcd, probes on /healthz and /readyz, ClusterIP Service hfi-control-plane", () => {
  const deployment = find("Deployment", "hfi-control-plane");
  expect(deployment.spec.replicas).toBe(2);
  const [container] = deployment.spec.template.spec.containers;
  expect(container.args).toEqual(
    expect.arrayContaining([
      "serve",
      "--store=etcd",
      "--etcd-endpoints=http://hfi-etcd.hfi.svc.cluster.local:2379",
    ]),
  );
  expect(container.livenessProbe.httpGet.path).toBe("/healthz");
  expect(container.readinessProbe.httpGet.path).toBe("/readyz");
  const service = find("Service", "hfi-control-plane");
  expect(service.spec.type).toBe("ClusterIP");
  expect(service.spec.ports[0].port).toBe(8080);
});

test("the Envoy ConfigMap loads /etc/envoy/hfi-filter.wasm and long-polls the control plane's Service", () => {
  const config = parse(find("ConfigMap", "hfi-envoy").data["envoy.yaml"]);
  const cluster = config.static_resources.clusters.find((c: Any) => c.name === "hfi_control_plane");
  const address = cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
  expect(address).toEqual({ address: "hfi-control-plane.hfi.svc.cluster.local", port_value: 8080 });
  const text: string = find("ConfigMap", "hfi-envoy").data["envoy.yaml"];
  expect(text).toContain("filename: /etc/envoy/hfi-filter.wasm");
  expect(text).toContain('"authority":"hfi-control-plane.hfi.svc.cluster.local:8080"');
});

test("the sample app: initContainer copies the filter from the filter image into an emptyDir for Envoy", () => {
  const pod = find("Deployment", "sample-app").spec.template.spec;
  const [init] = pod.initContainers;
  expect(init.image).toBe("hfi-filter:0.1.0");
  expect(init.command).toEqual(["cp", "/hfi/hfi-filter.wasm", "/filter/hfi-filter.wasm"]);
  const envoy = pod.containers.find((c: Any) => c.name === "envoy");
  expect(envoy.image).toBe("envoyproxy/envoy:v1.40.0");
  expect(envoy.volumeMounts.map((m: Any) => m.mountPath)).toEqual([
    "/etc/envoy/envoy.yaml",
    "/etc/envoy/hfi-filter.wasm",
  ]);
  expect(pod.volumes.find((v: Any) => v.name === "hfi-filter").emptyDir).toBeDefined();
  expect(find("Service", "sample-app").spec.ports[0].targetPort).toBe("http");
});

test("the sample app's Envoy runs without hot restart and reports the pod's name as its node id", () => {
  const pod = find("Deployment", "sample-app").spec.template.spec;
  const envoy = pod.containers.find((c: Any) => c.name === "envoy");
  expect(envoy.args).toEqual(
    expect.arrayContaining([
      "--disable-hot-restart",
      "--service-node=$(POD_NAME)",
      "--service-cluster=sample-app",
    ]),
  );
  expect(envoy.env).toContainEqual({
    name: "POD_NAME",
    valueFrom: { fieldRef: { fieldPath: "metadata.name" } },
  });
});

test("the demo etcd is marked as such", () => {
  const text = readFileSync(join(K8S_DIR, "10-etcd-demo.yaml"), "utf8");
  expect(text.split("\n")[0]).toStartWith("# DEMO ONLY");
  expect(find("StatefulSet", "hfi-etcd").spec.replicas).toBe(1);
});
