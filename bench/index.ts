/**
 * `npm run bench [-- NAME…] [--quick]`: runs benchmarks (never part of the tests), writes
 * bench/results/<name>.json with commit, versions, command line and raw samples, and prints and
 * writes bench/RESULTS.md — rebuilt from every result file present, so running one benchmark keeps
 * the others' latest figures.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { $ } from "bun";
import { apiThroughput } from "./api-throughput.ts";
import { compile } from "./compile.ts";
import { consoleBench } from "./console.ts";
import { dataplane, resummarizeDataplane } from "./dataplane.ts";
import { dataplaneProfile } from "./dataplane-profile.ts";
import { delayAccuracy } from "./delay-accuracy.ts";
import { experimentStop } from "./experiment-stop.ts";
import { fanout } from "./fanout.ts";
import { fanoutTargeted } from "./fanout-targeted.ts";
import { filterSize } from "./filter-size.ts";
import { fleet } from "./fleet.ts";
import { footprint } from "./footprint.ts";
import { halt } from "./halt.ts";
import { kubernetes } from "./kubernetes.ts";
import { machine } from "./machine.ts";
import { observations } from "./observations.ts";
import { propagation } from "./propagation.ts";
import { type BenchContext, type BenchResult, missedTargets, toMarkdown } from "./report.ts";

const BENCHMARKS: Record<string, (ctx: BenchContext) => Promise<BenchResult>> = {
  dataplane,
  "dataplane-profile": dataplaneProfile,
  propagation,
  fleet,
  kubernetes,
  halt,
  fanout,
  "fanout-targeted": fanoutTargeted,
  compile,
  "api-throughput": apiThroughput,
  footprint,
  "filter-size": filterSize,
  "delay-accuracy": delayAccuracy,
  console: consoleBench,
  observations,
  "experiment-stop": experimentStop,
};

/** Benchmarks whose rows can be recomputed from the raw samples of a stored result (`--resummarize`). */
const RESUMMARIZE: Record<string, (record: BenchResult) => BenchResult> = { dataplane: resummarizeDataplane };

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const ctx: BenchContext = { quick: args.includes("--quick") };
const names = args.filter((a) => !a.startsWith("--"));
for (const name of names) if (!BENCHMARKS[name]) throw new Error(`unknown benchmark ${name}`);

/** What the results describe: the commit, and whether the built sources differed from it. */
const commit = (await $`git rev-parse HEAD`.cwd(root).text()).trim();
const uncommitted = (await $`git status --porcelain -- src filter scripts`.cwd(root).nothrow().text())
  .split("\n")
  .filter(Boolean);
const envoyVersion = (await $`${root}.tools/venv/bin/envoy --version`.text()).trim();
const wrkVersion = (await $`wrk --version`.nothrow().quiet()).stdout.toString().split("\n")[0]?.trim() ?? "";
const filterFile = `${root}dist/hfi-filter.wasm`;
const filterSha256 = existsSync(filterFile)
  ? createHash("sha256").update(readFileSync(filterFile)).digest("hex")
  : "missing";

mkdirSync(`${root}bench/results`, { recursive: true });
// `--resummarize`: run nothing; recompute the rows of stored results from their samples, then render.
const resummarize = args.includes("--resummarize");
const selected = resummarize
  ? []
  : Object.entries(BENCHMARKS).filter(([name]) => names.length === 0 || names.includes(name));
if (resummarize) {
  for (const [name, redo] of Object.entries(RESUMMARIZE)) {
    const file = `${root}bench/results/${name}.json`;
    if (!existsSync(file) || (names.length > 0 && !names.includes(name))) continue;
    const record = JSON.parse(readFileSync(file, "utf8"));
    const updated = { ...redo(record), resummarizedAt: new Date().toISOString(), resummarizedBy: commit };
    writeFileSync(file, `${JSON.stringify(updated, null, 2)}\n`);
    console.log(`re-summarized ${name} from its samples`);
  }
}
const failed: string[] = [];
for (const [name, run] of selected) {
  console.log(`running ${name}${ctx.quick ? " (quick)" : ""}…`);
  const startedAt = new Date().toISOString();
  const machineBefore = machine();
  let result: BenchResult;
  try {
    result = await run(ctx);
  } catch (error) {
    console.error(
      `${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    failed.push(name);
    continue;
  }
  const record = {
    name,
    commit,
    uncommitted,
    quick: ctx.quick,
    startedAt,
    finishedAt: new Date().toISOString(),
    envoyVersion,
    bunVersion: Bun.version,
    wrkVersion,
    filterSha256,
    machine: { before: machineBefore, after: machine() },
    command: process.argv.join(" "),
    ...result,
  };
  writeFileSync(`${root}bench/results/${name}.json`, `${JSON.stringify(record, null, 2)}\n`);
}

/** Every benchmark's latest result file, in BENCHMARKS order. */
const records: Record<string, BenchResult & Record<string, unknown>> = {};
for (const name of Object.keys(BENCHMARKS)) {
  const file = `${root}bench/results/${name}.json`;
  if (existsSync(file)) records[name] = JSON.parse(readFileSync(file, "utf8"));
}
const table = toMarkdown(records);
console.log(table);
writeFileSync(`${root}bench/RESULTS.md`, renderResults(records, table));
if (failed.length > 0) console.error(`failed: ${failed.join(", ")}`);
// A benchmark's leftover timer or socket must not keep the run alive once the results are written.
process.exit(failed.length > 0 ? 1 : 0);

function renderResults(all: Record<string, BenchResult & Record<string, unknown>>, summary: string): string {
  const lines = [
    "# Benchmark results",
    "",
    "Generated by `npm run bench` (bench/index.ts) from bench/results/*.json; method and targets in",
    "[README.md](README.md). **These machines have 2 cores shared with other engineers' test runs**: absolute",
    "figures are noisy; ratios measured within one round are what counts. `met` compares the median.",
    "",
    "| benchmark | commit | quick | run at (UTC) | load average before → after |",
    "|---|---|---|---|---|",
  ];
  for (const [name, r] of Object.entries(all)) {
    const m = r.machine as { before: { loadavg: number[] }; after: { loadavg: number[] } } | undefined;
    const dirty = (r.uncommitted as string[] | undefined)?.length ? " + uncommitted changes" : "";
    lines.push(
      `| ${name} | ${String(r.commit).slice(0, 10)}${dirty} | ${r.quick ? "yes" : "no"} | ${String(
        r.startedAt ?? "",
      )
        .replace("T", " ")
        .slice(0, 19)} | ${m ? `${m.before.loadavg.join(" ")} → ${m.after.loadavg.join(" ")}` : ""} |`,
    );
  }
  lines.push("", "## Summary", "", summary, "## Missed targets", "", missedTargets(all));
  for (const [name, r] of Object.entries(all)) {
    lines.push(`## ${name}`, "");
    if (r.details) lines.push(r.details, "");
    for (const note of r.notes ?? []) lines.push(`- ${note}`);
    if (r.notes?.length) lines.push("");
    lines.push("Commands:", "", "```", ...r.commands, "```", "");
  }
  return `${lines.join("\n")}\n`;
}
