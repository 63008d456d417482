/**
 * The machinery behind the data-plane benchmarks: one Envoy (`--concurrency 1`, pinned to core 1)
 * with one `direct_response` listener per variant, the RuleSet stub, and rounds of wrk (pinned to
 * core 0) with the variant order rotated each round. Per variant and round: a warm-up at 32
 * connections, optionally latency at 1 connection, then throughput at 32 connections with Envoy's
 * CPU time (utime + stime from /proc/<pid>/stat) per request — and optionally a `perf record` of
 * Envoy during that run, split by where the time went (Envoy, kernel, V8-generated code).
 *
 * Every hfi listener has its own plugin `configuration` (a different `authority` towards the stub,
 * which serves each its own RuleSet) and its own vm_id. Filters with the same vm_id and code share
 * one VM per thread — each plugin still gets its own root context, hence its own rules, there
 * (checked: 3 VMs instead of 12 for 4 plugins, aborts and delays stay per listener) — but sharing
 * would put one variant's heap (hfi-1000's rules) into the VM another variant is measured in.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Rule } from "../src/ruleset/format.ts";
import { ENVOY_BIN, FILTER_WASM } from "../test/support/paths.ts";
import { freePort } from "../test/support/ports.ts";
import { spawnLogged, terminate, waitForUrl } from "../test/support/process.ts";
import { type StubControlPlane, startStubControlPlane } from "../test/support/stub-control-plane.ts";
import {
  bufferFilter,
  envoyArgs,
  envoyConfig,
  hfiFilter,
  type ListenerSpec,
  nativeFault,
  wasmFilter,
} from "./envoy-config.ts";
import { cpuMicros, schedMicros } from "./machine.ts";
import { buildNoopFilter } from "./noop-filter/build.ts";
import { bodyRule, faultAllRule, nonMatchingRules } from "./rules.ts";
import { ensureWrk, runWrk, socketErrors, type WrkSummary } from "./wrk.ts";

export const ENVOY_CPU = 1;
export const WRK_CPU = 0;
export const PATH = "/api/items";

export interface Variant {
  /** Its name: the listener, the stub authority and the key of its samples. */
  key: string;
  /** What results before variants had names called it (dataplane's A–I). */
  formerly?: string;
  label: string;
  kind: "none" | "native" | "hfi" | "noop";
  /** The RuleSet an hfi variant is served. */
  rules?: Rule[];
  /** Another build of the filter for this hfi (or noop) variant (default dist/hfi-filter.wasm, or the noop filter). */
  wasmFile?: string;
  /** The hfi filter's `reportIntervalMs`; 0 turns its observations off (envoy-config.ts has the default). */
  reportIntervalMs?: number;
  nativeFault?: Parameters<typeof nativeFault>[0];
  /** A noop variant that answers every request with this status (noop-filter/build.ts): wasm-abort. */
  noopAbortStatus?: number;
  expectStatus: 200 | 503;
  delayMs?: number;
  /**
   * Every request a POST with a body of this many bytes ("x" repeated); the listener gets Envoy's
   * buffer filter before the router (envoy-config.ts `bufferFilter` says why). Default: GETs.
   */
  bodyBytes?: number;
}

/** A header no request of the benchmarks carries: the native filter is configured but never matches. */
const NEVER_HEADER = { name: "x-bench-never", exact: "1" };

const hfiDelay = (ms: number, formerly: string): Variant => ({
  key: `hfi-delay-${ms}ms`,
  formerly,
  label: `hfi delay ${ms} ms 100%`,
  kind: "hfi",
  rules: [faultAllRule({ delayMs: ms })],
  expectStatus: 200,
  delayMs: ms,
});
/** A request body of `kib` KiB, with and without a body condition that reads all of it (rules.ts `bodyRule`). */
const hfiBody = (kib: number, condition: boolean): Variant => ({
  key: condition ? `hfi-body-contains-${kib}k` : `hfi-body-pass-${kib}k`,
  label: condition
    ? `hfi, POST ${kib} KiB, rule with a body \`contains\` that reads it all and fails`
    : `hfi, POST ${kib} KiB, the same rule without the body condition, at 0%`,
  kind: "hfi",
  rules: [bodyRule(condition ? kib * 1024 : undefined)],
  expectStatus: 200,
  bodyBytes: kib * 1024,
});
const nativeDelay = (ms: number, formerly: string): Variant => ({
  key: `native-delay-${ms}ms`,
  formerly,
  label: `native delay ${ms} ms 100%`,
  kind: "native",
  nativeFault: { delayMs: ms },
  expectStatus: 200,
  delayMs: ms,
});

/** The data-plane variants, shared by dataplane.ts and dataplane-profile.ts. */
export const VARIANTS = {
  routerOnly: { key: "router-only", formerly: "A", label: "router only", kind: "none", expectStatus: 200 },
  nativeIdle: {
    key: "native-idle",
    formerly: "B",
    label: "native fault filter, not matching",
    kind: "native",
    nativeFault: { abortStatus: 503, headers: [NEVER_HEADER] },
    expectStatus: 200,
  },
  hfi100: {
    key: "hfi-100",
    formerly: "C",
    label: "hfi, 100 rules, none matching",
    kind: "hfi",
    rules: nonMatchingRules(100),
    expectStatus: 200,
  },
  hfi1000: {
    key: "hfi-1000",
    formerly: "D",
    label: "hfi, 1,000 rules, none matching",
    kind: "hfi",
    rules: nonMatchingRules(1000),
    expectStatus: 200,
  },
  wasmNoop: {
    key: "wasm-noop",
    formerly: "E",
    label: "do-nothing Wasm filter",
    kind: "noop",
    expectStatus: 200,
  },
  nativeAbort: {
    key: "native-abort",
    formerly: "F",
    label: "native abort 100%",
    kind: "native",
    nativeFault: { abortStatus: 503 },
    expectStatus: 503,
  },
  wasmAbort: {
    key: "wasm-abort",
    label: "Wasm filter answering 503 at once, reading nothing",
    kind: "noop",
    noopAbortStatus: 503,
    expectStatus: 503,
  },
  hfiAbort: {
    key: "hfi-abort",
    formerly: "G",
    label: "hfi abort 100%",
    kind: "hfi",
    rules: [faultAllRule({ abortStatus: 503 })],
    expectStatus: 503,
  },
  hfiResponseStatus: {
    key: "hfi-response-status",
    label: "hfi response status 200 → 503, 100%",
    kind: "hfi",
    rules: [faultAllRule({ responseStatus: 503 })],
    expectStatus: 503,
  },
  hfiResponsePass: {
    key: "hfi-response-pass",
    label: "hfi response status rule matching every request at 0%",
    kind: "hfi",
    rules: [
      {
        ...faultAllRule({ responseStatus: 503 }),
        fault: { ...faultAllRule({ responseStatus: 503 }).fault, percentageMillionths: 0 },
      },
    ],
    expectStatus: 200,
  },
  hfiBodyContains1k: hfiBody(1, true),
  hfiBodyPass1k: hfiBody(1, false),
  hfiBodyContains16k: hfiBody(16, true),
  hfiBodyPass16k: hfiBody(16, false),
  nativeDelay10: nativeDelay(10, "H10"),
  hfiDelay10: hfiDelay(10, "I10"),
  nativeDelay50: nativeDelay(50, "H50"),
  hfiDelay50: hfiDelay(50, "I50"),
} satisfies Record<string, Variant>;

/** Samples of a stored result with the variants' current names (results before the rename used letters). */
export function renamedSamples(samples: Sample[]): Sample[] {
  const byFormer = new Map(Object.values(VARIANTS).map((v: Variant) => [v.formerly, v.key]));
  return samples.map((s) => ({ ...s, variant: byFormer.get(s.variant) ?? s.variant }));
}

export interface RoundParams {
  rounds: number;
  warmupS: number;
  /** 0 skips the 1-connection latency run. */
  latencyS: number;
  throughputS: number;
  /** Seconds of `perf record` during each throughput run (0: none). */
  perfS?: number;
}

/** One variant in one round. Latencies in µs (wrk's), CPU in µs per request. */
export interface Sample {
  round: number;
  variant: string;
  position: number;
  p50: number;
  p99: number;
  p999: number;
  meanUs: number;
  rps1: number;
  rps32: number;
  cpuPerRequest32: number;
  cpuPerRequest1: number;
  /** Same as cpuPerRequest32 from the scheduler's per-thread run time (ns resolution). */
  schedPerRequest32: number;
  requests1: number;
  requests32: number;
  statusErrors: number;
  socketErrors: number;
  /** Share of Envoy's CPU samples by object (envoy, [kernel.kallsyms], [JIT] = V8 code, libc…), with perfS. */
  perfShares?: Record<string, number>;
}

export interface VariantRun {
  samples: Sample[];
  commands: string[];
  /** Listener port of each variant (the commands show `<listener port>`). */
  ports: Record<string, number>;
  /** The variants measured (after `select`). */
  measured: Variant[];
  /** Observation reports the stub accepted, by variant: whether a variant's filter really observed. */
  reports: Record<string, number>;
  envoyLogWarnings: string[];
}

/**
 * Starts the Envoy and stub, waits for every hfi listener's rules, lets `select` drop variants after
 * probing the running listeners (by URL), checks each remaining variant answers as expected, and
 * runs the rounds.
 */
export async function runVariants(
  variants: Variant[],
  params: RoundParams,
  select: (url: (key: string) => string) => Promise<Variant[]> = async () => variants,
): Promise<VariantRun> {
  await ensureWrk();
  const dir = mkdtempSync(join(tmpdir(), "hfi-bench-variants-"));
  const commands: string[] = [];
  const stub = startStubControlPlane();
  const noopWasm = (v: Variant) => join(dir, `noop-filter-${v.noopAbortStatus ?? 0}.wasm`);
  for (const v of variants) {
    if (v.kind === "noop" && v.wasmFile === undefined) await buildNoopFilter(noopWasm(v), v.noopAbortStatus);
  }

  const ports: Record<string, number> = {};
  for (const v of variants) ports[v.key] = await freePort();
  const adminPort = await freePort();
  const revisions: Record<string, number> = {};
  const filtersOf = (v: Variant): ListenerSpec["filters"] => {
    if (v.kind === "native") return [nativeFault(v.nativeFault ?? {})];
    if (v.kind === "hfi") {
      revisions[v.key] = stub.publishRules(v.rules ?? [], v.key);
      return [
        hfiFilter({
          authority: v.key,
          wasmFile: v.wasmFile ?? FILTER_WASM,
          reportIntervalMs: v.reportIntervalMs,
        }),
      ];
    }
    if (v.kind === "noop") {
      return [
        wasmFilter({ name: v.key, vmId: v.key, wasmFile: v.wasmFile ?? noopWasm(v), configuration: "{}" }),
      ];
    }
    return [];
  };
  const listeners: ListenerSpec[] = variants.map((v) => ({
    name: v.key,
    port: ports[v.key] ?? 0,
    filters: [...filtersOf(v), ...(v.bodyBytes === undefined ? [] : [bufferFilter(v.bodyBytes)])],
  }));
  const configFile = join(dir, "envoy.json");
  writeFileSync(
    configFile,
    JSON.stringify(envoyConfig({ adminPort, stubPort: stub.port, listeners }), null, 1),
  );
  const envoy = spawnLogged(envoyArgs(ENVOY_BIN, configFile, 1), join(dir, "envoy.log"), { cpu: ENVOY_CPU });
  commands.push(template(envoy.command));
  const admin = `http://127.0.0.1:${adminPort}`;
  const url = (key: string) => `http://127.0.0.1:${ports[key]}${PATH}`;
  const samples: Sample[] = [];
  let measured: Variant[] = [];
  try {
    await waitForUrl(`${admin}/ready`, envoy);
    await waitForRules(stub, revisions, admin);
    measured = await select(url);
    for (const v of measured) await checkAnswer(url(v.key), v.expectStatus, v.bodyBytes);
    for (let r = 0; r < params.rounds; r++) {
      const order = measured.map((_, i) => measured[(i + r) % measured.length] as Variant);
      console.log(`  round ${r + 1}/${params.rounds}: ${order.map((v) => v.key).join(" ")}`);
      for (const [position, v] of order.entries()) {
        samples.push(await measure(v, r, position, url(v.key), envoy.proc.pid, params, commands, dir));
      }
    }
  } finally {
    await terminate(envoy.proc);
    stub.stop();
  }
  const envoyLog = readFileSync(envoy.logFile, "utf8");
  rmSync(dir, { recursive: true, force: true });
  return {
    samples,
    commands: [...new Set(commands)],
    ports,
    measured,
    reports: Object.fromEntries(stub.reports),
    envoyLogWarnings: envoyLog
      .split("\n")
      .filter((l) => /\[(warning|error|critical)\]/.test(l))
      .slice(0, 20),
  };
}

async function measure(
  v: Variant,
  roundIndex: number,
  position: number,
  url: string,
  pid: number,
  params: RoundParams,
  commands: string[],
  dir: string,
): Promise<Sample> {
  if (params.warmupS > 0) {
    const warm = await runWrk({
      url,
      connections: 32,
      durationS: params.warmupS,
      cpu: WRK_CPU,
      bodyBytes: v.bodyBytes,
    });
    commands.push(template(warm.command));
  }
  let l: WrkSummary | undefined;
  let cpu1 = Number.NaN;
  if (params.latencyS > 0) {
    const c0 = cpuMicros(pid);
    const latency = await runWrk({
      url,
      connections: 1,
      durationS: params.latencyS,
      cpu: WRK_CPU,
      latency: true,
      bodyBytes: v.bodyBytes,
    });
    cpu1 = (cpuMicros(pid) - c0) / latency.summary.requests;
    commands.push(template(latency.command));
    checkRun(v, latency.summary);
    l = latency.summary;
  }
  const s0 = schedMicros(pid);
  const c2 = cpuMicros(pid);
  const perf = params.perfS
    ? startPerf(pid, params.perfS, join(dir, `perf-${v.key}-${roundIndex}.data`))
    : undefined;
  const throughput = await runWrk({
    url,
    connections: 32,
    durationS: params.throughputS,
    cpu: WRK_CPU,
    bodyBytes: v.bodyBytes,
  });
  const c3 = cpuMicros(pid);
  const s1 = schedMicros(pid);
  commands.push(template(throughput.command));
  const perfShares = perf ? await perf : undefined;
  if (perf)
    commands.push(
      `perf record -e cpu-clock -F 2000 -p <envoy pid> -- sleep ${params.perfS}; perf report --sort dso`,
    );
  checkRun(v, throughput.summary);
  const t = throughput.summary;
  return {
    round: roundIndex + 1,
    variant: v.key,
    position,
    p50: l?.latencyUs.p["50"] ?? Number.NaN,
    p99: l?.latencyUs.p["99"] ?? Number.NaN,
    p999: l?.latencyUs.p["99.9"] ?? Number.NaN,
    meanUs: l?.latencyUs.mean ?? Number.NaN,
    rps1: l ? (l.requests * 1e6) / l.durationUs : Number.NaN,
    rps32: (t.requests * 1e6) / t.durationUs,
    cpuPerRequest32: (c3 - c2) / t.requests,
    cpuPerRequest1: cpu1,
    schedPerRequest32: (s1 - s0) / t.requests,
    requests1: l?.requests ?? 0,
    requests32: t.requests,
    statusErrors: (l?.errors.status ?? 0) + t.errors.status,
    socketErrors: (l ? socketErrors(l) : 0) + socketErrors(t),
    ...(perfShares && { perfShares }),
  };
}

/** A command line with the run's listener port and temp dir made generic, so rounds dedupe. */
function template(command: string): string {
  return command
    .replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:<listener port>")
    .replace(new RegExp(`${tmpdir()}/hfi-bench-variants-[^/]+`, "g"), "<tmp>");
}

/** `perf record` of `pid` for `seconds`, then the share of samples per object (dso). */
async function startPerf(pid: number, seconds: number, file: string): Promise<Record<string, number>> {
  const record = Bun.spawn(
    [
      "perf",
      "record",
      "-q",
      "-e",
      "cpu-clock",
      "-F",
      "2000",
      "-o",
      file,
      "-p",
      String(pid),
      "--",
      "sleep",
      String(seconds),
    ],
    { stdout: "ignore", stderr: "pipe" },
  );
  if ((await record.exited) !== 0) return {};
  const report = Bun.spawnSync(["perf", "report", "-i", file, "--sort", "dso", "--stdio", "-q"], {
    stderr: "ignore",
  });
  const shares: Record<string, number> = {};
  for (const line of report.stdout.toString().split("\n")) {
    const m = /^\s*([\d.]+)%\s+(.+?)\s*$/.exec(line);
    if (!m?.[1] || !m[2]) continue;
    // V8's code shows as "[JIT] tid N": one bucket, whatever the thread.
    const dso = m[2].startsWith("[JIT]") ? "[JIT] (V8 code)" : m[2];
    shares[dso] = (shares[dso] ?? 0) + Number(m[1]) / 100;
  }
  return shares;
}

/** A run whose answers are not what the variant must give is a broken benchmark, not a number. */
function checkRun(v: Variant, s: WrkSummary): void {
  if (s.requests === 0) throw new Error(`${v.key}: no requests completed`);
  const faulted = s.errors.status;
  if (v.expectStatus === 503 && faulted < s.requests) {
    throw new Error(
      `${v.key}: only ${faulted} of ${s.requests} answers were not 2xx; the abort is not applied`,
    );
  }
  if (v.expectStatus === 200 && faulted > 0) {
    throw new Error(`${v.key}: ${faulted} of ${s.requests} answers were not 2xx`);
  }
}

/** Waits until both threads' root contexts (main + worker) of every hfi listener polled past its revision. */
async function waitForRules(
  stub: StubControlPlane,
  revisions: Record<string, number>,
  admin: string,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  const pending = () => Object.entries(revisions).filter(([key, rev]) => stub.caughtUp(rev, key) < 2);
  while (pending().length > 0) {
    if (Date.now() > deadline) throw new Error(`rules not taken by ${pending().map(([k]) => k)}`);
    await Bun.sleep(50);
  }
  const stats = await (await fetch(`${admin}/stats?filter=hfi\\.config`)).text();
  const errors = Number(/hfi\.config\.errors_total: (\d+)/.exec(stats)?.[1] ?? "0");
  if (errors > 0) throw new Error(`the filter rejected ${errors} rule set(s):\n${stats}`);
}

async function checkAnswer(url: string, status: number, bodyBytes?: number): Promise<void> {
  const res = await fetch(
    url,
    bodyBytes === undefined ? {} : { method: "POST", body: "x".repeat(bodyBytes) },
  );
  await res.arrayBuffer();
  if (res.status !== status) throw new Error(`${url} answered ${res.status}, expected ${status}`);
}

/** Per-round values of `f`, NaN for a round where a variant it reads is missing. */
export function perRound(
  samples: Sample[],
  rounds: number,
  f: (get: (key: string) => Sample) => number,
): number[] {
  const values: number[] = [];
  for (let r = 1; r <= rounds; r++) {
    const get = (key: string) => {
      const s = samples.find((x) => x.round === r && x.variant === key);
      if (!s) throw new Error(`no sample of ${key} in round ${r}`);
      return s;
    };
    try {
      values.push(f(get));
    } catch {
      values.push(Number.NaN);
    }
  }
  return values;
}
