/**
 * Where hfi's data-plane cost goes — the profile behind bench/README.md's analysis of the dataplane
 * figures. Same machinery and variants as bench/dataplane.ts (bench/variants.ts), throughput runs
 * only, with `perf record` of Envoy during each (split into Envoy, kernel and V8-generated code),
 * and variants that isolate one cost each:
 *
 *   router-only · wasm-noop · hfi-empty (an empty rule set) · hfi-1-path-rule (method + path) ·
 *   hfi-1-header-rule (either way the filter reads the request with one
 *   proxy_get_header_map_pairs) · hfi-100-path-rules · hfi-100 and hfi-1000 (dataplane's mixed
 *   rules) · hfi-100-O3 and hfi-1000-O3 (the same with the filter built -O3)
 *
 * The hfi-100 and hfi-1000 variants run filters compiled here from the same sources (filter/), -Oz
 * (as shipped) and -O3, so the two differ only by the optimisation flag.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import asc from "../src/build-filter/asc.js";
import { checkFilterModule } from "../src/build-filter/check.ts";
import { ascArgs } from "../src/build-filter/options.ts";
import { FILTER_WASM, ROOT } from "../test/support/paths.ts";
import { profileFilter } from "./profile.ts";
import {
  type BenchContext,
  type BenchResult,
  type BenchRow,
  median,
  round,
  roundsRow,
  unavailableRow,
  valueRow,
} from "./report.ts";
import { nonMatchingRules } from "./rules.ts";
import { perRound, runVariants, type Sample, VARIANTS, type Variant } from "./variants.ts";

/** The figures bench/README.md's analysis reads. */
const PROFILE = {
  wasmPresent: "Wasm filter present, doing nothing: wasm-noop − router-only",
  perStream: "hfi with no rules over do-nothing: hfi-empty − wasm-noop",
  methodPath: "read the request (1 pairs hostcall) + 1 method + path rule: hfi-1-path-rule − hfi-empty",
  headerMap: "read the request (1 pairs hostcall) + 1 header-only rule: hfi-1-header-rule − hfi-empty",
  perPathRule: "per method + path rule: (hfi-100-path-rules − hfi-1-path-rule) ÷ 99",
  perMixedRule: "per mixed rule: (hfi-1000 − hfi-100) ÷ 900",
  perMixedRuleO3: "per mixed rule, -O3 build: (hfi-1000-O3 − hfi-100-O3) ÷ 900",
  ratioO3: "hfi-1000 ÷ hfi-100, -O3 build",
  jitHfi100: "in V8-generated code, hfi-100 (perf)",
  jitHfi1000: "in V8-generated code, hfi-1000 (perf)",
  sizeO3: "filter size -O3",
} as const;

const FILTER_DIR = resolve(ROOT, "filter");

/** The shipped asc flags with `-Oz` replaced by `level` ("-O3", "-Oz", …). */
async function buildFilterWith(level: string, outFile: string): Promise<number> {
  let binary: Uint8Array | undefined;
  const args = ascArgs(false, FILTER_DIR).map((a) => (a === "-Oz" ? level : a));
  const result = await asc.main(args, {
    writeFile: (_name, contents) => {
      if (contents instanceof Uint8Array) binary = contents;
    },
  });
  if (result.error || !binary) throw new Error(`asc ${level} failed: ${result.stderr.toString()}`);
  checkFilterModule(binary);
  writeFileSync(outFile, binary);
  return binary.byteLength;
}

const pathRules = (n: number) =>
  nonMatchingRules(n * 10)
    .filter((_, i) => i % 10 !== 9)
    .slice(0, n);
const headerRule = () => nonMatchingRules(10).slice(9, 10);

export async function dataplaneProfile(ctx: BenchContext): Promise<BenchResult> {
  const params = ctx.quick
    ? { rounds: 1, warmupS: 0, latencyS: 0, throughputS: 2, perfS: 1 }
    : { rounds: 3, warmupS: 3, latencyS: 0, throughputS: 8, perfS: 6 };
  const perfAvailable =
    Bun.spawnSync(["perf", "--version"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
  if (!perfAvailable) params.perfS = 0;
  const dir = mkdtempSync(join(tmpdir(), "hfi-bench-profile-"));
  // Both builds from the current filter/ sources, so they differ only by the flag. The sources may
  // be mid-edit by their owner: then the shipped build stands in for -Oz and -O3 is left out.
  let oz = join(dir, "hfi-Oz.wasm");
  const o3 = join(dir, "hfi-O3.wasm");
  let sizes: { Oz: number; O3: number | null };
  let buildNote =
    "hfi-100, hfi-1000 and their -O3 twins: -Oz and -O3 compiled here from the same filter/ sources";
  try {
    sizes = { Oz: await buildFilterWith("-Oz", oz), O3: await buildFilterWith("-O3", o3) };
  } catch (error) {
    oz = FILTER_WASM;
    sizes = { Oz: Bun.file(FILTER_WASM).size, O3: null };
    buildNote = `filter/ sources did not compile now (${String(error).split("\n")[0]}): hfi-100 and hfi-1000 use dist/hfi-filter.wasm, no -O3 variants`;
    console.log(`  ${buildNote}`);
  }
  const hfi = (key: string, label: string, rules: Variant["rules"]): Variant => ({
    key,
    label,
    kind: "hfi",
    rules,
    wasmFile: oz,
    expectStatus: 200,
  });
  const variants: Variant[] = [
    VARIANTS.routerOnly,
    VARIANTS.wasmNoop,
    hfi("hfi-empty", "hfi, empty rule set", []),
    hfi("hfi-1-path-rule", "hfi, 1 method + path rule", pathRules(1)),
    hfi("hfi-1-header-rule", "hfi, 1 header-only rule", headerRule()),
    hfi("hfi-100-path-rules", "hfi, 100 method + path rules", pathRules(100)),
    { ...VARIANTS.hfi100, wasmFile: oz },
    { ...VARIANTS.hfi1000, wasmFile: oz },
    ...(sizes.O3 === null
      ? []
      : [
          {
            ...VARIANTS.hfi100,
            key: "hfi-100-O3",
            label: "hfi-100 with the filter built -O3",
            wasmFile: o3,
          },
          {
            ...VARIANTS.hfi1000,
            key: "hfi-1000-O3",
            label: "hfi-1000 with the filter built -O3",
            wasmFile: o3,
          },
        ]),
  ];
  let run: Awaited<ReturnType<typeof runVariants>>;
  try {
    run = await runVariants(variants, params);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const { samples } = run;
  const values = (f: (g: (key: string) => Sample) => number) => perRound(samples, params.rounds, f);
  const cpu = (k: string) => (g: (key: string) => Sample) => g(k).cpuPerRequest32;
  const diff = (a: string, b: string) => values((g) => cpu(a)(g) - cpu(b)(g));
  /** µs per request spent in V8-generated code (the filter itself), from perf's share × CPU/request. */
  const jitUs = (k: string) =>
    values((g) => (g(k).perfShares?.["[JIT] (V8 code)"] ?? Number.NaN) * g(k).cpuPerRequest32);
  const perRule = (a: string, b: string, n: number) => values((g) => ((cpu(a)(g) - cpu(b)(g)) * 1000) / n);

  const rows: BenchRow[] = [
    roundsRow(PROFILE.wasmPresent, diff("wasm-noop", "router-only"), "µs/request"),
    roundsRow(PROFILE.perStream, diff("hfi-empty", "wasm-noop"), "µs/request"),
    roundsRow(PROFILE.methodPath, diff("hfi-1-path-rule", "hfi-empty"), "µs/request"),
    roundsRow(PROFILE.headerMap, diff("hfi-1-header-rule", "hfi-empty"), "µs/request"),
    roundsRow(PROFILE.perPathRule, perRule("hfi-100-path-rules", "hfi-1-path-rule", 99), "ns"),
    roundsRow(PROFILE.perMixedRule, perRule("hfi-1000", "hfi-100", 900), "ns"),
    roundsRow(PROFILE.perMixedRuleO3, perRule("hfi-1000-O3", "hfi-100-O3", 900), "ns"),
    roundsRow("CPU, hfi-100, -Oz as shipped", values(cpu("hfi-100")), "µs/request"),
    roundsRow("CPU, hfi-100, -O3", values(cpu("hfi-100-O3")), "µs/request"),
    roundsRow("CPU, hfi-1000, -Oz as shipped", values(cpu("hfi-1000")), "µs/request"),
    roundsRow("CPU, hfi-1000, -O3", values(cpu("hfi-1000-O3")), "µs/request"),
    roundsRow(
      PROFILE.ratioO3,
      values((g) => cpu("hfi-1000-O3")(g) / cpu("hfi-100-O3")(g)),
      "ratio",
    ),
  ];
  if (params.perfS) {
    rows.push(
      roundsRow(PROFILE.jitHfi100, jitUs("hfi-100"), "µs/request"),
      roundsRow(PROFILE.jitHfi1000, jitUs("hfi-1000"), "µs/request"),
      roundsRow("in V8-generated code, hfi-1000-O3 (perf)", jitUs("hfi-1000-O3"), "µs/request"),
    );
  }
  rows.push(
    valueRow("filter size -Oz (as shipped)", sizes.Oz / 1024, "KiB", { op: "<=", bound: 64 }),
    sizes.O3 === null
      ? unavailableRow(PROFILE.sizeO3, "KiB", { op: "<=", bound: 64 }, buildNote)
      : valueRow(PROFILE.sizeO3, sizes.O3 / 1024, "KiB", { op: "<=", bound: 64 }),
  );

  const hostProfile = await profileFilter(
    await Bun.file(join(ROOT, "dist/hfi-filter.wasm")).bytes(),
    nonMatchingRules(100),
  );
  const shareTable = [
    "Share of Envoy's CPU samples by object (perf record -e cpu-clock, median across rounds), and CPU µs/request:",
    "",
    "| variant | | CPU µs/request | envoy | kernel | V8 code ([JIT]) | libc |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const v of variants) {
    const ofKey = (f: (s: Sample) => number) => {
      const xs = samples
        .filter((s) => s.variant === v.key)
        .map(f)
        .filter(Number.isFinite);
      return xs.length ? round(median(xs)) : Number.NaN;
    };
    const share = (dso: string) => {
      const x = ofKey((s) => s.perfShares?.[dso] ?? Number.NaN);
      return Number.isFinite(x) ? `${round(x * 100)}%` : "n/a";
    };
    shareTable.push(
      `| ${v.key} | ${v.label} | ${ofKey((s) => s.cpuPerRequest32)} | ${share("envoy")} | ${share("[kernel.kallsyms]")} | ${share("[JIT] (V8 code)")} | ${share("libc.so.6")} |`,
    );
  }
  return {
    params: {
      ...params,
      sizes,
      build: buildNote,
      ports: run.ports,
      variants: variants.map(({ key, formerly, label }) => ({ key, formerly, label })),
      perf: perfAvailable ? "perf record -e cpu-clock -F 2000 -p <envoy>" : "perf not available",
      hostProfile100Rules: hostProfile,
    },
    commands: run.commands,
    samples: { perRound: samples },
    rows,
    details: `${shareTable.join("\n")}\n`,
    notes: [
      `Per request with 100 mixed rules the filter makes ${hostProfile.hostcallTotal} hostcalls (${Object.entries(
        hostProfile.hostcalls,
      )
        .map(([k, n]) => `${k} ×${n}`)
        .join(
          ", ",
        )}), and Envoy calls ${hostProfile.callbacks.length} of its callbacks (${hostProfile.callbacks.join(", ")}) — counted by the TypeScript proxy-wasm host (test/proxy-wasm-host).`,
      "Diagnostic only (no targets): differences of medians of per-round CPU µs/request at 32 connections, on the shared 2-core machine.",
    ],
  };
}
