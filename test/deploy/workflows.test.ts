/**
 * The GitHub Actions workflows (.github/workflows): actionlint, with shellcheck on every `run:` block,
 * finds nothing; CI runs .ci/run; the release workflow checks the tag against package.json, publishes
 * only after CI passed, and uploads exactly what scripts/release.ts writes. actionlint or shellcheck
 * missing is a failure (scripts/setup.sh --test installs both), not a skip.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parse } from "yaml";
import { OUT_DIR, RELEASE_FILES } from "../../scripts/release.ts";
import { findGoTool } from "./support/go-tool.ts";
import { ROOT } from "./support/helm.ts";

// biome-ignore lint/suspicious/noExplicitAny: workflows are walked as plain parsed YAML
type Any = any;

const WORKFLOWS = join(ROOT, ".github/workflows");
const workflow = (file: string): Any => parse(readFileSync(join(WORKFLOWS, file), "utf8"));
const ci = workflow("ci.yml");
const release = workflow("release.yml");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

test("actionlint, with shellcheck on every run: block, reports nothing", () => {
  const actionlint = findGoTool(
    "actionlint",
    "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12",
    "the workflows cannot be checked without it",
  );
  const shellcheck = Bun.which("shellcheck");
  expect(shellcheck, "shellcheck is not on PATH: run `bash scripts/setup.sh --test`").toBeString();
  const files = readdirSync(WORKFLOWS).filter((file) => file.endsWith(".yml"));
  expect(files.toSorted()).toEqual(["ci.yml", "release.yml"]);
  const result = Bun.spawnSync(
    [
      actionlint,
      "-no-color",
      "-oneline",
      `-shellcheck=${shellcheck}`,
      ...files.map((f) => join(WORKFLOWS, f)),
    ],
    { cwd: ROOT },
  );
  expect(result.stdout.toString() + result.stderr.toString()).toBe("");
  expect(result.exitCode).toBe(0);
});

test("CI runs .ci/run for pull requests, pushes to main and the release workflow", () => {
  expect(Object.keys(ci.on).toSorted()).toEqual(["pull_request", "push", "workflow_call"]);
  expect(ci.on.push.branches).toEqual(["main"]);
  const steps: Any[] = Object.values<Any>(ci.jobs).flatMap((job) => job.steps);
  expect(steps.map((step) => step.run)).toContain("bash .ci/run");
  expect(release.jobs.test.uses).toBe("./.github/workflows/ci.yml");
});

test("a release is published on a v* tag, only after the tag check and CI passed", () => {
  expect(release.on).toEqual({ push: { tags: ["v*"] } });
  expect(release.jobs.test.needs).toBe("version");
  expect(release.jobs.publish.needs).toBe("test");
  expect(release.jobs.publish.permissions).toEqual({ contents: "write" });
  expect(release.permissions).toEqual({ contents: "read" });
});

test("the release uploads exactly the files scripts/release.ts writes", () => {
  const steps: Any[] = release.jobs.publish.steps;
  const build = steps.findIndex((step) => step.run === "npm run release");
  const publish = steps.findIndex((step) => /gh release create/.test(step.run ?? ""));
  expect(build).toBeGreaterThanOrEqual(0);
  expect(publish).toBeGreaterThan(build);
  expect(steps[publish]["working-directory"]).toBe(relative(ROOT, OUT_DIR));
  const uploaded = /^\s*files=\(([^)]*)\)/m.exec(steps[publish].run)?.[1]?.trim().split(/\s+/);
  expect(uploaded?.toSorted()).toEqual(RELEASE_FILES.toSorted());
});

test("docs/RELEASES.md lists every release file", () => {
  const doc = readFileSync(join(ROOT, "docs/RELEASES.md"), "utf8");
  expect(RELEASE_FILES.filter((file) => !doc.includes(`| \`${file}\` |`))).toEqual([]);
});

test("the tag check passes only for v + package.json's version", () => {
  const check: string = release.jobs.version.steps.find((step: Any) =>
    step.run?.includes("GITHUB_REF_NAME"),
  ).run;
  // The shell GitHub runs a run: block with on Linux.
  const run = (tag: string) =>
    Bun.spawnSync(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", check], {
      cwd: ROOT,
      env: { ...process.env, GITHUB_REF_NAME: tag },
    });
  expect(run(`v${pkg.version}`).exitCode).toBe(0);
  for (const tag of [pkg.version, `v${pkg.version}.1`, `v${pkg.version}-rc.1`, "v0.0.0"]) {
    const result = run(tag);
    expect(result.exitCode).toBe(1);
    expect(result.stdout.toString()).toContain(
      `::error::tag ${tag} is not v + package.json's version (v${pkg.version})`,
    );
  }
});
