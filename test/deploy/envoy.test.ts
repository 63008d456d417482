/**
 * Every Envoy configuration hfi ships — deploy/ and examples/ (plain files and ConfigMap entries) and
 * the Helm chart's rendered ConfigMaps — loaded by the real Envoy 1.40 in `--mode validate` with the
 * real filter (validate opens the .wasm and runs the plugin's on_configure), and checked for the filter
 * contract: FAIL_OPEN, root_id hfi, the V8 runtime, a plugin cluster that exists, request bodies
 * delivered while the headers are held (allow_on_headers_stop_iteration with the plugin's bodyMatching).
 */
import { beforeAll, expect, describe as group, test } from "bun:test";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { buildFilter } from "../../scripts/build-filter.ts";
import { FILTER_WASM } from "../support/paths.ts";
import { COMBINATIONS } from "./support/combinations.ts";
import {
  checkFilterContract,
  ENVOY_BIN,
  type EnvoyConfig,
  envoyConfigsInObjects,
  findEnvoyConfigs,
  validateWithEnvoy,
  wasmPaths,
} from "./support/envoy.ts";
import { ROOT, renderChart } from "./support/helm.ts";

const shipped = findEnvoyConfigs(ROOT, ["deploy", "examples"]);

/** The filter Envoy loads: dist/hfi-filter.wasm (npm test builds it), else a fresh build. */
let wasm = FILTER_WASM;
beforeAll(async () => {
  if (!existsSync(ENVOY_BIN)) throw new Error(`${ENVOY_BIN} is missing: run bash scripts/setup.sh`);
  if (!existsSync(wasm)) {
    wasm = join(mkdtempSync(join(tmpdir(), "hfi-filter-")), "hfi-filter.wasm");
    await buildFilter({ outFile: wasm });
  }
}, 60_000);

test("the shipped configurations are found (any added later are checked too)", () => {
  expect(shipped.map((c) => c.source)).toEqual(
    expect.arrayContaining([
      "deploy/compose/envoy.yaml",
      "deploy/envoy/envoy.yaml",
      "deploy/k8s/30-envoy-configmap.yaml#ConfigMap/hfi-envoy/envoy.yaml",
    ]),
  );
});

function expectValid(config: EnvoyConfig) {
  const { ok, output } = validateWithEnvoy(config.text, wasm);
  if (!ok) throw new Error(`envoy --mode validate rejected ${config.source}:\n${output.slice(-2000)}`);
}

group("shipped", () => {
  for (const config of shipped) {
    test(`${config.source}: keeps the filter contract`, () => {
      expect(checkFilterContract(config.text)).toEqual([]);
    });
    test(`${config.source}: envoy --mode validate accepts it with the real filter`, () =>
      expectValid(config));
  }
});

group("rendered by the Helm chart", () => {
  // The combinations that render the sample app, and so its Envoy ConfigMap.
  for (const name of ["default", "etcd (demo)", "auth (inline tokens)"]) {
    test(`${name}: the Envoy ConfigMap keeps the filter contract and envoy --mode validate accepts it`, () => {
      const configs = envoyConfigsInObjects(renderChart(COMBINATIONS[name]!.values), `helm(${name})`);
      expect(configs).toHaveLength(1);
      for (const config of configs) {
        expect(checkFilterContract(config.text)).toEqual([]);
        expectValid(config);
      }
    });
  }
});

test("the containers load the filter from where the images put it", () => {
  const paths = Object.fromEntries(shipped.map((c) => [c.source, wasmPaths(c.text)]));
  expect(paths).toMatchObject({
    "deploy/compose/envoy.yaml": ["/etc/envoy/filter/hfi-filter.wasm"],
    "deploy/envoy/envoy.yaml": ["dist/hfi-filter.wasm"],
    "deploy/k8s/30-envoy-configmap.yaml#ConfigMap/hfi-envoy/envoy.yaml": ["/etc/envoy/hfi-filter.wasm"],
  });
});

/** What deploy/envoy/envoy.yaml carries, read back from /stats/prometheus (docs/FILTER.md, Attribution). */
const POLICY_TAG = { tag_name: "policy", regex: "^wasmcustom\\.hfi\\.policy\\.(([^.]+)\\.)\\w+$" };

test("every Envoy configuration, shipped or rendered, turns the policy name into a `policy` label", () => {
  const rendered = envoyConfigsInObjects(renderChart(COMBINATIONS.default!.values), "helm(default)");
  for (const config of [...shipped, ...rendered]) {
    expect(parse(config.text).stats_config?.stats_tags, config.source).toContainEqual(POLICY_TAG);
  }
  const match = new RegExp(POLICY_TAG.regex).exec("wasmcustom.hfi.policy.checkout-abort.aborts_total");
  expect(match?.[2]).toBe("checkout-abort");
});

test("the local configuration names its node, so hfi status shows it instead of unknown", () => {
  const local = shipped.find((c) => c.source === "deploy/envoy/envoy.yaml")!;
  expect(parse(local.text).node).toEqual({ id: "local-envoy", cluster: "hfi-local" });
});

test("a configuration that lets the filter see unnormalised paths breaks the contract", () => {
  const config = shipped.find((c) => c.source === "deploy/envoy/envoy.yaml")!;
  const raw = config.text
    .replace("normalize_path: true", "normalize_path: false")
    .replace(/\n *merge_slashes: true/, "");
  expect(checkFilterContract(raw)).toEqual([
    "ingress_http: normalize_path is false, not true",
    "ingress_http: merge_slashes is undefined, not true",
  ]);
});

test("a broken configuration is rejected (the check can fail)", () => {
  const config = shipped.find((c) => c.source === "deploy/compose/envoy.yaml")!;
  const broken = config.text.replace("cluster: upstream,", "cluster: no_such_cluster,");
  expect(broken).not.toBe(config.text);
  expect(validateWithEnvoy(broken, wasm).ok).toBe(false);
});
