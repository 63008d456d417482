/**
 * The `hfi serve` flags every deployment passes exist, with values the command accepts. citty ignores
 * flags it does not know, so a misspelt `--store=etcd` would silently run replicas on separate memory
 * stores; this test is what catches it.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import serve from "../../src/cli/commands/serve.ts";
import { COMBINATIONS } from "./support/combinations.ts";
import { ROOT, renderChart } from "./support/helm.ts";
import { type K8sObject, parseManifests, podOf } from "./support/manifests.ts";

interface ArgDef {
  type?: string;
  options?: string[];
}

async function serveArgs(): Promise<Record<string, ArgDef>> {
  const args = typeof serve.args === "function" ? await serve.args() : await serve.args;
  return (args ?? {}) as Record<string, ArgDef>;
}

const controlPlaneArgs = (objects: K8sObject[], source: string) =>
  objects
    .filter((o) => o.kind === "Deployment" && o.metadata?.name === "hfi-control-plane")
    .map((o) => ({ source, args: podOf(o)!.spec.containers[0].args as string[] }));

function deployments(): { source: string; args: string[] }[] {
  const compose = parse(readFileSync(join(ROOT, "deploy/compose/compose.yaml"), "utf8"), { merge: true });
  const k8s = parseManifests(readFileSync(join(ROOT, "deploy/k8s/20-control-plane.yaml"), "utf8"));
  const istio = parseManifests(readFileSync(join(ROOT, "deploy/istio/10-control-plane.yaml"), "utf8"));
  return [
    { source: "compose hfi-1", args: compose.services["hfi-1"].command },
    { source: "compose hfi-2", args: compose.services["hfi-2"].command },
    ...controlPlaneArgs(k8s, "deploy/k8s"),
    ...controlPlaneArgs(istio, "deploy/istio"),
    ...Object.entries(COMBINATIONS).flatMap(([name, { values }]) =>
      controlPlaneArgs(renderChart(values), `helm (${name})`),
    ),
  ];
}

test("every `hfi serve` flag in compose, deploy/k8s, deploy/istio and the rendered chart is one serve accepts", async () => {
  const known = await serveArgs();
  const found = deployments();
  expect(found.length).toBe(4 + Object.keys(COMBINATIONS).length);
  const problems = found.flatMap(({ source, args }) => {
    if (args[0] !== "serve") return [`${source}: does not run serve (${args[0]})`];
    return args.slice(1).flatMap((arg) => {
      const [, name = "", value] = /^--([^=]+)(?:=(.*))?$/.exec(arg) ?? [];
      const def = known[name];
      if (!def) return [`${source}: unknown flag ${arg}`];
      if (def.type !== "boolean" && value === undefined) return [`${source}: ${arg} needs =value`];
      if (def.options && !def.options.includes(value ?? ""))
        return [`${source}: ${arg} is not one of ${def.options}`];
      return [];
    });
  });
  expect(problems).toEqual([]);
});

test("the chart's values schema offers exactly serve's log formats and levels", async () => {
  const known = await serveArgs();
  const schema = JSON.parse(readFileSync(join(ROOT, "deploy/helm/hfi/values.schema.json"), "utf8"));
  const controlPlane = schema.properties.controlPlane.properties;
  expect(controlPlane.logFormat.enum.sort()).toEqual([...(known["log-format"]?.options ?? [])].sort());
  expect(controlPlane.logLevel.enum.sort()).toEqual([...(known["log-level"]?.options ?? [])].sort());
  expect(schema.properties.store.properties.type.enum.sort()).toEqual(
    [...(known.store?.options ?? [])].sort(),
  );
});
