/**
 * What the filter's observations (docs/FILTER.md, "Observations") cost per request: each variant
 * twice in the same Envoy and rounds (bench/variants.ts), with observations on (the filter's
 * default, reporting every second to the stub, which accepts the reports) and off
 * (`reportIntervalMs: 0`), as a ratio of CPU µs/request at 32 connections:
 *
 *   hfi-100 — 100 rules, none matching: nothing is observed, so nothing should be added;
 *   hfi-pass — one rule matching every request at 0%: a matched request passes, the filter records
 *     it and reads its `:status`, the common case of a partial fault;
 *   hfi-abort — one rule aborting every request: recorded as matched and aborted as it is sent.
 */
import { type BenchContext, type BenchResult, type BenchRow, roundsRow } from "./report.ts";
import { faultAllRule, nonMatchingRules } from "./rules.ts";
import { perRound, runVariants, type Variant } from "./variants.ts";

/** The pairs measured: observed, and the same with observations off (`<key>-unobserved`). */
const OBSERVED: Variant[] = [
  {
    key: "hfi-100",
    label: "hfi, 100 rules, none matching",
    kind: "hfi",
    rules: nonMatchingRules(100),
    expectStatus: 200,
  },
  {
    key: "hfi-pass",
    label: "hfi, 1 rule matching every request at 0%",
    kind: "hfi",
    rules: [
      {
        ...faultAllRule({ abortStatus: 503 }),
        fault: { percentageMillionths: 0, abort: { httpStatus: 503, body: "" } },
      },
    ],
    expectStatus: 200,
  },
  {
    key: "hfi-abort",
    label: "hfi abort 100%",
    kind: "hfi",
    rules: [faultAllRule({ abortStatus: 503 })],
    expectStatus: 503,
  },
];

const unobserved = (v: Variant): Variant => ({
  ...v,
  key: `${v.key}-unobserved`,
  label: `${v.label}, observations off`,
  reportIntervalMs: 0,
});

export async function observations(ctx: BenchContext): Promise<BenchResult> {
  const params = ctx.quick
    ? { rounds: 1, warmupS: 0, latencyS: 0, throughputS: 2 }
    : { rounds: 5, warmupS: 2, latencyS: 0, throughputS: 6 };
  const variants = OBSERVED.flatMap((v) => [v, unobserved(v)]);
  const run = await runVariants(variants, params);
  const values = (f: Parameters<typeof perRound>[2]) => perRound(run.samples, params.rounds, f);
  const rows: BenchRow[] = [];
  for (const v of OBSERVED) {
    const off = `${v.key}-unobserved`;
    rows.push(
      roundsRow(
        `CPU µs/request, ${v.key} ÷ ${off}: observations on ÷ off`,
        values((g) => g(v.key).cpuPerRequest32 / g(off).cpuPerRequest32),
        "ratio",
      ),
      roundsRow(
        `observations' cost per request, ${v.key} − ${off}`,
        values((g) => g(v.key).cpuPerRequest32 - g(off).cpuPerRequest32),
        "µs/request",
      ),
    );
  }
  const reported = OBSERVED.map((v) => `${v.key} ${run.reports[v.key] ?? 0}`).join(", ");
  const silent = OBSERVED.map((v) => run.reports[`${v.key}-unobserved`] ?? 0).reduce((a, b) => a + b, 0);
  return {
    params: {
      ...params,
      ports: run.ports,
      variants: variants.map(({ key, label }) => ({ key, label })),
      reports: run.reports,
    },
    commands: run.commands,
    samples: { perRound: run.samples },
    rows,
    notes: [
      `Reports the stub accepted during the run: ${reported}; from the observations-off variants: ${silent}.`,
      "Diagnostic (no targets): per-round ratios and differences of CPU µs/request at 32 connections, medians across rounds, on the shared 2-core machine.",
    ],
  };
}
