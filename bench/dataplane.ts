/**
 * Data-plane cost (bench/README.md, data-plane cost): one Envoy (`--concurrency 1`, pinned to core 1)
 * with one listener per variant, each answering with a `direct_response`; wrk pinned to core 0.
 * Rounds with the variant order rotated; per variant a warm-up, then latency at 1 connection, then
 * throughput at 32 connections with Envoy's CPU time (utime + stime from /proc/<pid>/stat) per request.
 * The variants (router-only, native-idle, hfi-100, hfi-1000, wasm-noop, native-abort, wasm-abort, hfi-abort,
 * hfi-response-status, hfi-response-pass, hfi-body-contains-Nk, hfi-body-pass-Nk, native-delay-Nms, hfi-delay-Nms) and the machinery (Envoy config, RuleSet stub, rounds, wrk, CPU)
 * are in bench/variants.ts; what the figures mean and why targets are missed, in bench/README.md.
 */
import { readFileSync } from "node:fs";
import { FILTER_WASM } from "../test/support/paths.ts";
import { machine } from "./machine.ts";
import { type FilterProfile, profileFilter } from "./profile.ts";
import {
  type BenchContext,
  type BenchResult,
  type BenchRow,
  median,
  round,
  roundsRow,
  unavailableRow,
} from "./report.ts";
import { ABSENT_FROM_BODIES, nonMatchingRules } from "./rules.ts";
import {
  VARIANTS as BY_NAME,
  ENVOY_CPU,
  PATH,
  perRound as perRoundOf,
  renamedSamples,
  runVariants,
  type Sample,
  type Variant,
  WRK_CPU,
} from "./variants.ts";

/** The target rows (bench/README.md, data-plane cost). */
const FIG = {
  cpuIdle: "CPU µs/request, hfi-100 ÷ native-idle (hfi 100 rules ÷ native fault)",
  rpsIdle: "rps at 32 connections, hfi-100 ÷ native-idle",
  cpuScaling: "CPU µs/request, hfi-1000 ÷ hfi-100 (1,000 ÷ 100 rules)",
  rpsAbort: "abort rps at 32 connections, hfi-abort ÷ native-abort",
};

/** Where bench/README.md explains each missed target (RESULTS.md sits beside it). */
const ANALYSIS = {
  idle: "See [README.md](README.md#hfi-against-the-native-filter).",
  scaling: "See [README.md](README.md#rule-scaling).",
  abort: "See [README.md](README.md#the-abort-path).",
  delay: "See [README.md](README.md#delay-accuracy).",
};

const VARIANTS: Variant[] = Object.values(BY_NAME);
/** Body sizes of the hfi-body-* variants (variants.ts). */
const BODY_KIB = [1, 16];
const delayFigure = (ms: number) => `delay error p99, hfi ${ms} ms (observed − router-only p50 − configured)`;

export async function dataplane(ctx: BenchContext): Promise<BenchResult> {
  const params = ctx.quick
    ? { rounds: 1, warmupS: 1, latencyS: 1, throughputS: 1 }
    : { rounds: 5, warmupS: 5, latencyS: 8, throughputS: 8 };
  const machineBefore = machine();
  let delayProbe = "";
  let delaysAvailable = false;
  const run = await runVariants(VARIANTS, params, async (url) => {
    for (const kib of BODY_KIB) await checkBodyRead(url(`hfi-body-contains-${kib}k`), kib * 1024);
    ({ available: delaysAvailable, detail: delayProbe } = await probeDelay(url("hfi-delay-10ms"), 10));
    return VARIANTS.filter((v) => delaysAvailable || !(v.kind === "hfi" && v.delayMs));
  });
  const profiles = await profiles100And1000();
  const result = summarize(run.samples, params.rounds, delaysAvailable, delayProbe);
  return {
    ...result,
    params: {
      ...params,
      envoyCpu: ENVOY_CPU,
      wrkCpu: WRK_CPU,
      path: PATH,
      variants: VARIANTS.map(({ key, formerly, label }) => ({ key, formerly, label })),
      measured: run.measured.map((v) => v.key),
      ports: run.ports,
      ruleShape:
        "nonMatchingRules(n) in bench/rules.ts: 9 in 10 rules `GET` + path prefix `/svc-N/`, every 10th a header " +
        "`x-bench-user: user-N` only; all abort 503 at 100%",
      vmIds: "one vm_id per listener (hfi-<variant>, wasm-noop, wasm-abort)",
      machineBefore,
      machineAfter: machine(),
      delayProbe,
      envoyLogWarnings: run.envoyLogWarnings,
      filterProfiles: profiles,
    },
    commands: run.commands,
    samples: { perRound: run.samples },
  };
}

/**
 * Recomputes a stored dataplane result's rows, explanations, notes and details from its raw samples
 * (the rows are a pure function of them), e.g. after the summary itself changed. Samples of results
 * from before the variants had names are renamed first.
 */
export function resummarizeDataplane(record: BenchResult): BenchResult {
  const params = record.params as { rounds: number; delayProbe: string };
  const samples = renamedSamples((record.samples as { perRound: Sample[] }).perRound);
  const delaysAvailable = samples.some((s) => s.variant === "hfi-delay-10ms");
  return {
    ...record,
    samples: { ...record.samples, perRound: samples },
    ...summarize(samples, params.rounds, delaysAvailable, params.delayProbe),
  };
}

/** Whether the filter delays: a request through a 100% delay listener takes at least the delay. */
async function probeDelay(url: string, delayMs: number): Promise<{ available: boolean; detail: string }> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    times.push(performance.now() - start);
    if (res.status !== 200) return { available: false, detail: `delay listener answered ${res.status}` };
  }
  const fastest = Math.min(...times);
  const available = fastest >= delayMs;
  return {
    available,
    detail: `${delayMs} ms delay rule: fastest of 5 requests ${fastest.toFixed(1)} ms (${available ? "delays work" : "not delayed: the filter does not implement delays"})`,
  };
}

/**
 * A body variant measures the body scan only if the filter reads the whole body: the needle as the
 * body's last bytes must get the rule's abort.
 */
async function checkBodyRead(url: string, bytes: number): Promise<void> {
  const body = "x".repeat(bytes - ABSENT_FROM_BODIES.length) + ABSENT_FROM_BODIES;
  const res = await fetch(url, { method: "POST", body });
  await res.arrayBuffer();
  if (res.status !== 503) {
    throw new Error(`${url}: a ${bytes}-byte body ending in the needle answered ${res.status}, expected 503`);
  }
}

async function profiles100And1000(): Promise<FilterProfile[]> {
  const wasm = new Uint8Array(readFileSync(FILTER_WASM));
  return [
    await profileFilter(wasm, nonMatchingRules(100)),
    await profileFilter(wasm, nonMatchingRules(1000)),
  ];
}

function summarize(
  samples: Sample[],
  rounds: number,
  delaysAvailable: boolean,
  delayProbe: string,
): Pick<BenchResult, "rows" | "missed" | "notes" | "details"> {
  const perRound = (f: (get: (key: string) => Sample) => number) => perRoundOf(samples, rounds, f);
  const cpu = (key: string) => perRound((g) => g(key).cpuPerRequest32);
  const ratio = (a: string, b: string, field: keyof Sample) =>
    perRound((g) => (g(a)[field] as number) / (g(b)[field] as number));
  const diff = (a: string, b: string, field: keyof Sample) =>
    perRound((g) => (g(a)[field] as number) - (g(b)[field] as number));
  /** observed percentile − baseline (router-only) p50 − configured, in ms (its p99 is noise on a shared core). */
  const delayError = (key: string, delayMs: number, field: "p50" | "p99") =>
    perRound((g) => (g(key)[field] - g("router-only").p50) / 1000 - delayMs);
  const med = (values: number[]) => round(median(values.filter(Number.isFinite)));
  const notAvailable = "not available: the filter build rejects or ignores delay rules";

  const rows: BenchRow[] = [
    roundsRow(FIG.cpuIdle, ratio("hfi-100", "native-idle", "cpuPerRequest32"), "ratio", {
      op: "<=",
      bound: 1.1,
    }),
    roundsRow(FIG.rpsIdle, ratio("hfi-100", "native-idle", "rps32"), "ratio", { op: ">=", bound: 0.93 }),
    roundsRow(FIG.cpuScaling, ratio("hfi-1000", "hfi-100", "cpuPerRequest32"), "ratio", {
      op: "<=",
      bound: 1.15,
    }),
    roundsRow(FIG.rpsAbort, ratio("hfi-abort", "native-abort", "rps32"), "ratio", { op: ">=", bound: 0.9 }),
    roundsRow(
      "CPU µs/request, hfi-abort ÷ native-abort",
      ratio("hfi-abort", "native-abort", "cpuPerRequest32"),
      "ratio",
    ),
    roundsRow(
      "abort rps at 32 connections, wasm-abort ÷ native-abort (the floor: a Wasm filter answering at once, reading nothing)",
      ratio("wasm-abort", "native-abort", "rps32"),
      "ratio",
    ),
    roundsRow(
      "abort rps at 32 connections, hfi-abort ÷ wasm-abort (hfi's own share of an abort)",
      ratio("hfi-abort", "wasm-abort", "rps32"),
      "ratio",
    ),
    roundsRow(
      "CPU µs/request, hfi-abort − wasm-abort",
      diff("hfi-abort", "wasm-abort", "cpuPerRequest32"),
      "µs",
    ),
    roundsRow(
      "CPU µs/request, hfi-response-status ÷ hfi-response-pass (a response status rewrite over the same rule at 0%)",
      ratio("hfi-response-status", "hfi-response-pass", "cpuPerRequest32"),
      "ratio",
    ),
    roundsRow(
      "CPU µs/request, hfi-response-status − hfi-response-pass",
      diff("hfi-response-status", "hfi-response-pass", "cpuPerRequest32"),
      "µs",
    ),
  ];
  for (const kib of BODY_KIB) {
    const [contains, pass] = [`hfi-body-contains-${kib}k`, `hfi-body-pass-${kib}k`];
    rows.push(
      roundsRow(
        `CPU µs/request, ${contains} ÷ ${pass} (a body \`contains\` reading a whole ${kib} KiB body, over the same rule without it)`,
        ratio(contains, pass, "cpuPerRequest32"),
        "ratio",
      ),
      roundsRow(`CPU µs/request, ${contains} − ${pass}`, diff(contains, pass, "cpuPerRequest32"), "µs"),
    );
  }
  for (const ms of [10, 50]) {
    const target = { op: "<=" as const, bound: 2 };
    rows.push(
      delaysAvailable
        ? roundsRow(delayFigure(ms), delayError(`hfi-delay-${ms}ms`, ms, "p99"), "ms", target)
        : unavailableRow(delayFigure(ms), "ms", target, notAvailable),
    );
  }
  for (const ms of [10, 50]) {
    const [hfi, native] = [`hfi-delay-${ms}ms`, `native-delay-${ms}ms`];
    rows.push(
      roundsRow(
        `delay error p99, native ${ms} ms (anchor, same definition)`,
        delayError(native, ms, "p99"),
        "ms",
      ),
      roundsRow(
        `delay error p50, hfi ${ms} ms / native ${ms} ms`,
        delayError(hfi, ms, "p50"),
        "ms",
        undefined,
        `native ${med(delayError(native, ms, "p50"))} ms`,
      ),
      roundsRow(
        `delay error p99, hfi − native ${ms} ms (the filter's own share, same rounds)`,
        perRound((g) => (g(hfi).p99 - g(native).p99) / 1000),
        "ms",
      ),
    );
  }
  for (const v of ["router-only", "native-idle", "hfi-100", "hfi-1000", "wasm-noop"]) {
    rows.push(roundsRow(`CPU µs/request, ${v}`, cpu(v), "µs"));
  }
  rows.push(
    roundsRow(
      "CPU µs/request added by a Wasm filter at all, wasm-noop − router-only",
      diff("wasm-noop", "router-only", "cpuPerRequest32"),
      "µs",
    ),
    roundsRow(
      "CPU µs/request added by 100 rules, hfi-100 − wasm-noop",
      diff("hfi-100", "wasm-noop", "cpuPerRequest32"),
      "µs",
    ),
    roundsRow(
      "CPU µs/request added by 900 more rules, hfi-1000 − hfi-100",
      diff("hfi-1000", "hfi-100", "cpuPerRequest32"),
      "µs",
    ),
    roundsRow(
      "CPU µs/request added by the native fault filter, native-idle − router-only",
      diff("native-idle", "router-only", "cpuPerRequest32"),
      "µs",
    ),
  );
  for (const [v, percentiles] of [
    ["hfi-100", ["p50", "p99"]],
    ["native-idle", ["p50", "p99"]],
    ["hfi-1000", ["p50"]],
    ["wasm-noop", ["p50"]],
  ] as const) {
    for (const p of percentiles) {
      rows.push(
        roundsRow(`added latency ${p} at 1 connection, ${v} − router-only`, diff(v, "router-only", p), "µs"),
      );
    }
  }
  rows.push(
    roundsRow(
      "rps at 32 connections, router-only",
      perRound((g) => g("router-only").rps32),
      "req/s",
    ),
    roundsRow(
      "rps at 32 connections, hfi-100",
      perRound((g) => g("hfi-100").rps32),
      "req/s",
    ),
  );

  const missed: Record<string, string> = {
    [FIG.cpuIdle]: ANALYSIS.idle,
    [FIG.rpsIdle]: ANALYSIS.idle,
    [FIG.cpuScaling]: ANALYSIS.scaling,
    [FIG.rpsAbort]: ANALYSIS.abort,
    [delayFigure(10)]: ANALYSIS.delay,
    [delayFigure(50)]: ANALYSIS.delay,
  };
  const cell = (values: number[]) => {
    const finite = values.filter(Number.isFinite);
    if (finite.length === 0) return "n/a";
    const m = round(median(finite));
    return finite.length > 1 ? `${m} (${round(Math.min(...finite))}–${round(Math.max(...finite))})` : `${m}`;
  };
  const detailLines = [
    "Per variant, median (min–max) across rounds:",
    "",
    "| variant | | CPU µs/request (32 conn.) | rps (32 conn.) | p50 µs (1 conn.) | p99 µs (1 conn.) | CPU µs/request (1 conn.) |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const v of VARIANTS) {
    if (!samples.some((s) => s.variant === v.key)) {
      detailLines.push(`| ${v.key} | ${v.label} | n/a | n/a | n/a | n/a | n/a |`);
      continue;
    }
    const f = (field: keyof Sample) => cell(perRound((g) => g(v.key)[field] as number));
    detailLines.push(
      `| ${v.key} | ${v.label} | ${f("cpuPerRequest32")} | ${f("rps32")} | ${f("p50")} | ${f("p99")} | ${f("cpuPerRequest1")} |`,
    );
  }
  const details = `${detailLines.join("\n")}\n`;
  const notes = [
    "Machine shared with other engineers' test runs (2 cores): absolute figures are noisy; ratios within one round are what counts. Envoy pinned to core 1, wrk to core 0 — other processes may still run on either core.",
    "CPU µs/request is Δ(utime+stime) of the Envoy process over the 32-connection run ÷ requests wrk completed in it (resolution 10 ms of CPU over a run of several seconds).",
    `Delays: ${delayProbe}.`,
  ];
  return { rows, missed, notes, details };
}
