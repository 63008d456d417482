/**
 * Runs the real helm (v3.22, installed by scripts/setup.sh with `go install`) against the chart in
 * deploy/helm/hfi. helm is looked up on PATH, then in $(go env GOPATH)/bin. Its absence is an error
 * with instructions, never a skip: these checks are the only proof the chart renders.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findGoTool } from "./go-tool.ts";
import { type K8sObject, parseManifests } from "./manifests.ts";

export const ROOT = new URL("../../../", import.meta.url).pathname;
export const CHART_DIR = join(ROOT, "deploy/helm/hfi");

/** The helm executable, or an Error that says how to install it. */
export function findHelm(): string {
  return findGoTool("helm", "helm.sh/helm/v3/cmd/helm@v3.22.0", "the chart cannot be checked without it");
}

export interface HelmResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export function helm(args: string[]): HelmResult {
  const result = Bun.spawnSync([findHelm(), ...args], { cwd: ROOT, env: { ...process.env, HELM_DEBUG: "" } });
  return { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

/** Runs `fn` with the values written to a temporary file (JSON is YAML), removed afterwards. */
function withValuesFile<T>(values: object, fn: (file: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "hfi-helm-"));
  try {
    const file = join(dir, "values.json");
    writeFileSync(file, JSON.stringify(values));
    return fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function helmLint(values: object): HelmResult {
  return withValuesFile(values, (file) => helm(["lint", "--strict", CHART_DIR, "-f", file]));
}

export const RELEASE = "hfi";
export const NAMESPACE = "hfi";

export function helmTemplate(values: object): HelmResult {
  return withValuesFile(values, (file) =>
    helm(["template", RELEASE, CHART_DIR, "--namespace", NAMESPACE, "-f", file]),
  );
}

/** The rendered objects; throws with helm's message when rendering fails. */
export function renderChart(values: object): K8sObject[] {
  const result = helmTemplate(values);
  if (result.exitCode !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseManifests(result.stdout);
}

/**
 * NOTES.txt as `helm install` would print it. `helm template` does not render NOTES and
 * `helm install --dry-run` wants a cluster, so a temporary copy of the chart turns it into a named
 * template and renders that inside a ConfigMap.
 */
export function renderNotes(values: object): string {
  const dir = mkdtempSync(join(tmpdir(), "hfi-chart-"));
  try {
    const chart = join(dir, "hfi");
    Bun.spawnSync(["cp", "-r", CHART_DIR, chart]);
    const notes = readFileSync(join(chart, "templates/NOTES.txt"), "utf8");
    rmSync(join(chart, "templates/NOTES.txt"));
    writeFileSync(join(chart, "templates/_notes.tpl"), `{{- define "test.notes" -}}\n${notes}{{- end -}}\n`);
    writeFileSync(
      join(chart, "templates/notes.yaml"),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: notes }\ndata:\n  NOTES.txt: {{ include "test.notes" . | toJson }}\n',
    );
    const result = withValuesFile(values, (file) =>
      helm(["template", RELEASE, chart, "-n", NAMESPACE, "-f", file, "--show-only", "templates/notes.yaml"]),
    );
    if (result.exitCode !== 0) throw new Error(`rendering NOTES.txt failed: ${result.stderr}`);
    const [configMap] = parseManifests(result.stdout);
    const data = (configMap?.data ?? {}) as Record<string, string>;
    return String(data["NOTES.txt"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
