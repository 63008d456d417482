/**
 * Envoy configurations shipped in deploy/ and examples/ (plain files and ConfigMap entries), checked
 * by the real Envoy (`--mode validate`, which loads the .wasm and runs the filter's on_configure) and
 * for the contract every hfi filter block keeps (FAIL_OPEN, root_id hfi, V8, a cluster that exists)
 * and its connection manager (normalize_path and merge_slashes on).
 */
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parse, parseAllDocuments, stringify } from "yaml";
import { ENVOY_BIN, FILTER_WASM } from "../../support/paths.ts";
import type { K8sObject } from "./manifests.ts";

export { ENVOY_BIN };

// biome-ignore lint/suspicious/noExplicitAny: Envoy configs are walked as plain parsed YAML
type Any = any;

export interface EnvoyConfig {
  /** Where it came from: a path, or path#ConfigMap/name/key. */
  source: string;
  text: string;
}

const isEnvoyConfig = (value: unknown) =>
  typeof value === "object" && value !== null && "static_resources" in value;

/** Envoy configurations among these objects: ConfigMap entries whose value is one. */
export function envoyConfigsInObjects(objects: K8sObject[], source: string): EnvoyConfig[] {
  return objects.flatMap((object) => {
    if (object.kind !== "ConfigMap") return [];
    const data = (object.data ?? {}) as Record<string, string>;
    return Object.entries(data)
      .filter(([, text]) => isEnvoyConfig(parse(text)))
      .map(([key, text]) => ({ source: `${source}#ConfigMap/${object.metadata?.name}/${key}`, text }));
  });
}

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/**
 * Every Envoy configuration in these directories (relative to `root`). Helm templates are skipped:
 * they are not YAML until rendered, and the chart's test renders them.
 */
export function findEnvoyConfigs(root: string, dirs: string[]): EnvoyConfig[] {
  return dirs
    .flatMap((dir) => yamlFiles(join(root, dir)))
    .filter((file) => !file.includes("/templates/"))
    .flatMap((file) => {
      const text = readFileSync(file, "utf8");
      const source = relative(root, file);
      const docs = parseAllDocuments(text).map((d) => d.toJS());
      if (docs.some(isEnvoyConfig)) return [{ source, text }];
      return envoyConfigsInObjects(docs.filter(Boolean) as K8sObject[], source);
    });
}

/** The HTTP connection managers (typed_config) that run the hfi filter. */
export function hfiConnectionManagers(config: Any): Any[] {
  const listeners: Any[] = config.static_resources?.listeners ?? [];
  return listeners.flatMap((l) =>
    (l.filter_chains ?? []).flatMap((chain: Any) =>
      (chain.filters ?? [])
        .map((f: Any) => f.typed_config)
        .filter((hcm: Any) => (hcm?.http_filters ?? []).some(isHfiFilter)),
    ),
  );
}

const isHfiFilter = (h: Any) => h.name === "envoy.filters.http.wasm";

/** The hfi filter blocks (typed_config.config) of every HTTP connection manager in the config. */
export function hfiFilters(config: Any): Any[] {
  return hfiConnectionManagers(config).flatMap((hcm) =>
    hcm.http_filters.filter(isHfiFilter).map((h: Any) => h.typed_config.config),
  );
}

/** Breaks of the filter contract in one configuration; empty = keeps it. */
export function checkFilterContract(text: string): string[] {
  const config = parse(text);
  const filters = hfiFilters(config);
  if (filters.length === 0) return ["no hfi Wasm filter"];
  const clusters = new Set((config.static_resources.clusters ?? []).map((c: Any) => c.name));
  const filterProblems = filters.flatMap((f) => {
    const problems: string[] = [];
    if (f.failure_policy !== "FAIL_OPEN")
      problems.push(`failure_policy is ${f.failure_policy}, not FAIL_OPEN`);
    if (f.root_id !== "hfi") problems.push(`root_id is ${f.root_id}, not hfi`);
    // Without it Envoy holds request bodies behind paused headers, and body conditions never match.
    if (f.allow_on_headers_stop_iteration !== true)
      problems.push("allow_on_headers_stop_iteration is not true");
    if (f.vm_config?.runtime !== "envoy.wasm.runtime.v8") problems.push(`runtime ${f.vm_config?.runtime}`);
    const plugin = JSON.parse(f.configuration?.value ?? "{}");
    if (!clusters.has(plugin.cluster)) problems.push(`plugin cluster ${plugin.cluster} is not a cluster`);
    if (typeof plugin.authority !== "string") problems.push("plugin configuration has no authority");
    if (plugin.bodyMatching !== true) problems.push("plugin configuration has no bodyMatching: true");
    return problems;
  });
  // The filter matches the path Envoy hands over; only a normalised one is the path the upstream serves.
  const normalisation = hfiConnectionManagers(config).flatMap((hcm) =>
    ["normalize_path", "merge_slashes"]
      .filter((field) => hcm[field] !== true)
      .map((field) => `${hcm.stat_prefix}: ${field} is ${hcm[field]}, not true`),
  );
  return [...filterProblems, ...normalisation];
}

/** The .wasm paths the configuration loads. */
export const wasmPaths = (text: string): string[] =>
  hfiFilters(parse(text)).map((f) => f.vm_config.code.local.filename);

/**
 * `envoy --mode validate` on the configuration with every .wasm path pointed at `wasm` (the shipped
 * paths exist only inside containers); nothing else changes.
 */
export function validateWithEnvoy(text: string, wasm = FILTER_WASM): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "hfi-envoy-validate-"));
  try {
    const config = parse(text);
    const filterCopy = join(dir, "hfi-filter.wasm");
    copyFileSync(wasm, filterCopy);
    for (const filter of hfiFilters(config)) filter.vm_config.code.local.filename = filterCopy;
    const file = join(dir, "envoy.yaml");
    writeFileSync(file, stringify(config));
    const result = Bun.spawnSync([ENVOY_BIN, "--mode", "validate", "-c", file, "--log-level", "warn"]);
    const output = `${result.stdout.toString()}${result.stderr.toString()}`;
    return { ok: result.exitCode === 0 && output.includes("OK"), output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
