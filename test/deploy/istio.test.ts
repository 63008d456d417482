/**
 * The Istio kit (deploy/istio): the Kubernetes objects valid against the Kubernetes schemas with the
 * restricted Pod Security Standard and their references resolved; the WasmPlugin valid against
 * Istio's own schema (`@kubernetes-models/istio`) with no field it does not define; and its plugin
 * configuration one the real filter accepts, pointing at the control plane's Service the way Istio
 * names its clusters.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { WasmPlugin } from "@kubernetes-models/istio/extensions.istio.io/v1alpha1/WasmPlugin";
import { ProxyWasmHost } from "../proxy-wasm-host/index.ts";
import { WASM } from "../support/filter-host.ts";
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

const WASM_PLUGIN_MODULE = "@kubernetes-models/istio/extensions.istio.io/v1alpha1/WasmPlugin";
const SCHEMA_ID = "extensions.istio.io.v1alpha1.WasmPlugin";
/**
 * `failStrategy` came with Istio 1.20; the schema of `@kubernetes-models/istio` 2.x (the last line
 * that runs on the Node.js 20 this project supports) predates it, so its values are checked here.
 */
const NEWER_THAN_THE_SCHEMA = { failStrategy: ["FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"] };

const ISTIO_DIR = join(ROOT, "deploy/istio");
const files = readdirSync(ISTIO_DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort();
const objects: K8sObject[] = files.flatMap((file) =>
  parseManifests(readFileSync(join(ISTIO_DIR, file), "utf8")),
);
const kubernetes = objects.filter((o) => o.kind !== "WasmPlugin");
const plugin = objects.find((o) => o.kind === "WasmPlugin") as Any;

/** Istio's validator, the one the WasmPlugin model registers its schema with. */
const istioValidate: (id: string, data: unknown) => void = (
  await import(
    Bun.resolveSync(
      "@kubernetes-models/validate",
      dirname(Bun.resolveSync(WASM_PLUGIN_MODULE, import.meta.dir)),
    )
  )
).validate;

/**
 * Istio's schema violations, else the fields of `spec` its schema does not define (those the
 * validator never reads). `pluginConfig` is free-form to Istio: the filter's configuration, checked
 * below by loading it into the filter.
 */
function validatePlugin(object: Any): string[] {
  try {
    new WasmPlugin(object).validate();
  } catch (error) {
    return [String((error as Error).message)];
  }
  const read = new Set<PropertyKey>();
  const spec = new Proxy(object.spec, {
    get(target, key, receiver) {
      read.add(key);
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      read.add(key);
      return Reflect.has(target, key);
    },
  });
  istioValidate(SCHEMA_ID, { ...object, spec });
  return Object.keys(object.spec)
    .filter((key) => !read.has(key))
    .map((key) => `spec.${key} is not a field of WasmPlugin`);
}

test("the kit is a namespace, the control plane and the WasmPlugin, applied in file order", () => {
  expect(files).toEqual(["00-namespace.yaml", "10-control-plane.yaml", "20-wasmplugin.yaml"]);
  expect(objects.map(describe)).toEqual([
    "Namespace/hfi",
    "ServiceAccount/hfi-control-plane",
    "Deployment/hfi-control-plane",
    "Service/hfi-control-plane",
    "WasmPlugin/hfi",
  ]);
});

test("the Kubernetes objects are valid, restricted, outside the mesh, and their references resolve", async () => {
  const problems = await Promise.all(
    kubernetes.map(async (o) => (await validateObject(o)).map((p) => `${describe(o)}: ${p}`)),
  );
  expect(problems.flat()).toEqual([]);
  expect(kubernetes.flatMap(checkPodSecurity)).toEqual([]);
  expect(checkReferences(kubernetes)).toEqual([]);
  expect(kubernetes[0]?.metadata?.labels?.["istio-injection"]).toBe("disabled");
});

test("the WasmPlugin is valid against Istio's schema; a misspelt value or field is caught", () => {
  expect(validatePlugin(plugin)).toEqual(["spec.failStrategy is not a field of WasmPlugin"]);
  expect(NEWER_THAN_THE_SCHEMA.failStrategy).toContain(plugin.spec.failStrategy);
  expect(validatePlugin({ ...plugin, spec: { ...plugin.spec, imagePullPolicy: "Sometimes" } })).toEqual([
    "data/spec/imagePullPolicy must be equal to one of the allowed values",
  ]);
  expect(validatePlugin({ ...plugin, spec: { ...plugin.spec, selectors: plugin.spec.selector } })).toEqual([
    "spec.failStrategy is not a field of WasmPlugin",
    "spec.selectors is not a field of WasmPlugin",
  ]);
});

test("mesh-wide by workload label, fail-open, outbound, the filter image", () => {
  expect(plugin.metadata.namespace).toBe("istio-system");
  expect(plugin.spec.selector).toEqual({ matchLabels: { "hfi.dev/fault-injection": "enabled" } });
  expect(plugin.spec.failStrategy).toBe("FAIL_OPEN");
  expect(plugin.spec.match).toEqual([{ mode: "CLIENT" }]);
  expect(plugin.spec.url).toMatch(/^oci:\/\/.+\/hfi-filter:0\.1\.0$/);
});

test("the plugin configuration names the control plane's Service as Istio names its cluster, and the filter accepts it", async () => {
  const service = kubernetes.find((o) => o.kind === "Service") as Any;
  const port = service.spec.ports[0].port;
  const host = `${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`;
  expect(plugin.spec.pluginConfig.cluster).toBe(`outbound|${port}||${host}`);
  expect(plugin.spec.pluginConfig.authority).toBe(`${host}:${port}`);
  const host2 = await ProxyWasmHost.load(WASM, { pluginConfig: JSON.stringify(plugin.spec.pluginConfig) });
  expect(host2.start()).toBe(true);
});
