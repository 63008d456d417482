/**
 * `npm run bench [-- NAME…] [--quick]`: runs benchmarks (never part of the tests), writes
 * bench/results/<name>.json with commit, versions, command line and raw samples, and prints and
 * writes bench/RESULTS.md.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { $ } from "bun";
import { apiThroughput } from "./api-throughput.ts";
import { propagation } from "./propagation.ts";
import { type BenchContext, type BenchResult, toMarkdown } from "./report.ts";

const BENCHMARKS: Record<string, (ctx: BenchContext) => Promise<BenchResult>> = {
  propagation,
  "api-throughput": apiThroughput,
};

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const ctx: BenchContext = { quick: args.includes("--quick") };
const names = args.filter((a) => !a.startsWith("--"));
for (const name of names) if (!BENCHMARKS[name]) throw new Error(`unknown benchmark ${name}`);

const commit = (await $`git rev-parse HEAD`.cwd(root).text()).trim();
const envoyVersion = (await $`${root}.tools/venv/bin/envoy --version`.text()).trim();
mkdirSync(`${root}bench/results`, { recursive: true });
const results: Record<string, BenchResult> = {};
const selected = Object.entries(BENCHMARKS).filter(([name]) => names.length === 0 || names.includes(name));
for (const [name, run] of selected) {
  console.log(`running ${name}${ctx.quick ? " (quick)" : ""}…`);
  const result = await run(ctx);
  results[name] = result;
  const record = {
    name,
    commit,
    envoyVersion,
    bunVersion: Bun.version,
    command: process.argv.join(" "),
    ...result,
  };
  writeFileSync(`${root}bench/results/${name}.json`, `${JSON.stringify(record, null, 2)}\n`);
}
const table = toMarkdown(results);
console.log(table);
writeFileSync(`${root}bench/RESULTS.md`, `# Benchmark results\n\nCommit ${commit}.\n\n${table}`);
