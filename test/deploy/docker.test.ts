/**
 * deploy/docker/Dockerfile and .dockerignore. No Docker engine runs here, so the images are not built;
 * what can be proved offline is: the stages and their base images, the non-root runtime, and that the
 * build context .dockerignore lets through is enough for the build stage's `npm run build`.
 */
import { expect, test } from "bun:test";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { allowedPaths, isPinned, parseDockerfile } from "./support/dockerfile.ts";
import { ROOT, renderChart } from "./support/helm.ts";
import { imagesOf, parseManifests, podOf } from "./support/manifests.ts";

const stages = parseDockerfile(readFileSync(join(ROOT, "deploy/docker/Dockerfile"), "utf8"));
const stage = (name: string) => stages.find((s) => s.name === name)!;
const instruction = (name: string, keyword: string) =>
  stage(name)
    .instructions.filter((i) => i.keyword === keyword)
    .map((i) => i.args);

test("three stages: build, filter, control-plane (the default target, last)", () => {
  expect(stages.map((s) => s.name)).toEqual(["build", "filter", "control-plane"]);
  expect(stages.map((s) => s.from)).toEqual([
    "node:22-bookworm-slim",
    "busybox:1.37.0",
    "gcr.io/distroless/cc-debian12:nonroot",
  ]);
  expect(instruction("build", "RUN")).toEqual([
    "npm ci --no-audit --no-fund",
    "npm run build && ./dist/hfi version",
  ]);
});

test("control-plane: only dist/hfi, non-root, `hfi serve` on 0.0.0.0:8080", () => {
  expect(instruction("control-plane", "COPY")).toEqual(["--from=build /src/dist/hfi /usr/local/bin/hfi"]);
  expect(instruction("control-plane", "USER")).toEqual(["65532:65532"]);
  expect(instruction("control-plane", "ENTRYPOINT")).toEqual(['["/usr/local/bin/hfi"]']);
  expect(instruction("control-plane", "CMD")).toEqual(['["serve", "--listen", "0.0.0.0:8080"]']);
});

test("filter: only the .wasm, where the initContainers copy it from, and last as /plugin.wasm for Istio", () => {
  expect(instruction("filter", "COPY")).toEqual([
    "--from=build /src/dist/hfi-filter.wasm /hfi/hfi-filter.wasm",
    "--from=build /src/dist/hfi-filter.wasm /plugin.wasm",
  ]);
  expect(instruction("filter", "USER")).toEqual(["65532:65532"]);
  const [sampleApp] = parseManifests(readFileSync(join(ROOT, "deploy/k8s/40-sample-app.yaml"), "utf8"));
  const [init] = podOf(sampleApp!)!.spec.initContainers;
  expect(init.command).toEqual(["cp", "/hfi/hfi-filter.wasm", "/filter/hfi-filter.wasm"]);
});

test("every image in the Dockerfile, compose, the manifests and the chart's defaults is pinned", () => {
  const compose = parse(readFileSync(join(ROOT, "deploy/compose/compose.yaml"), "utf8"), { merge: true });
  const k8s = ["10-etcd-demo", "20-control-plane", "40-sample-app"].flatMap((f) =>
    parseManifests(readFileSync(join(ROOT, `deploy/k8s/${f}.yaml`), "utf8")),
  );
  const images = [
    ...stages.map((s) => ({ image: s.from, where: `Dockerfile stage ${s.name}` })),
    ...Object.entries<{ image: string }>(compose.services).map(([n, s]) => ({
      image: s.image,
      where: `compose ${n}`,
    })),
    ...k8s.flatMap(imagesOf),
    ...renderChart({ store: { type: "etcd" }, etcdDemo: { enabled: true } }).flatMap(imagesOf),
  ];
  expect(images.length).toBeGreaterThan(15);
  expect(images.filter((i) => !isPinned(i.image))).toEqual([]);
});

test("the build context .dockerignore lets through is enough for `npm run build`", () => {
  const context = mkdtempSync(join(tmpdir(), "hfi-docker-context-"));
  try {
    for (const path of allowedPaths(readFileSync(join(ROOT, ".dockerignore"), "utf8"))) {
      expect(existsSync(join(ROOT, path)), path).toBe(true);
      cpSync(join(ROOT, path), join(context, path), { recursive: true });
    }
    // Stands in for the image's `npm ci`: the same packages, without downloading them again.
    symlinkSync(join(ROOT, "node_modules"), join(context, "node_modules"));
    const build = Bun.spawnSync(["npm", "run", "build"], { cwd: context, stdout: "pipe", stderr: "pipe" });
    const output = `${build.stdout.toString()}${build.stderr.toString()}`;
    if (build.exitCode !== 0)
      throw new Error(`npm run build in the Docker context failed:\n${output.slice(-3000)}`);
    expect(existsSync(join(context, "dist/hfi-filter.wasm"))).toBe(true);
    const version = Bun.spawnSync([join(context, "dist/hfi"), "version"]);
    expect(version.exitCode).toBe(0);
    expect(version.stdout.toString()).toContain("hfi ");
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}, 120_000);
