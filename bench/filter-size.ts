/**
 * Filter size (bench/README.md, filter-size): what a bigger release module costs Envoy, against the
 * last module within the 64 KiB budget, built from its commit in the same run. Each round starts one
 * Envoy per variant — no filter, the reference module, the current dist/hfi-filter.wasm — in rotated
 * order, `--concurrency 2` (3 filter VMs), one `direct_response` listener, 100 non-matching rules
 * from the RuleSet stub, and measures the time from spawning Envoy to `/ready` (V8 compiles the
 * module and every VM instantiates it before the listener is ready), to every VM holding the rules,
 * and Envoy's RSS once it has settled.
 */
import { mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { $ } from "bun";
import { assembleRuleSet } from "../src/ruleset/compile.ts";
import { ENVOY_BIN, FILTER_WASM, ROOT } from "../test/support/paths.ts";
import { freePort } from "../test/support/ports.ts";
import { spawnLogged, tail, terminate } from "../test/support/process.ts";
import { startStubControlPlane } from "../test/support/stub-control-plane.ts";
import { envoyArgs, envoyConfig, hfiFilter } from "./envoy-config.ts";
import { memoryKiB, schedMicros } from "./machine.ts";
import { type BenchContext, type BenchResult, roundsRow, valueRow } from "./report.ts";
import { nonMatchingRules } from "./rules.ts";

/** main before issue 14 was merged: the release module was 65,453 bytes (issue 15's observations). */
export const REFERENCE_COMMIT = "c4c707b58d787602bf90ff681a70d0d22948c06b";
const CONCURRENCY = 2;
const RULES = 100;
const POLL_MS = 10;

type Variant = "none" | "reference" | "current";
const VARIANTS: Variant[] = ["none", "reference", "current"];

interface Start {
  variant: Variant;
  readyMs: number;
  /** CPU time of all Envoy's threads when it was ready: what sharing the cores cannot inflate. */
  cpuReadyMs: number;
  /** Until every VM (main thread and workers) polled after the rules' revision. */
  rulesMs: number;
  rssKiB: number;
}

export async function filterSize(ctx: BenchContext): Promise<BenchResult> {
  const rounds = ctx.quick ? 1 : 11;
  const settleMs = ctx.quick ? 300 : 1500;
  const dir = mkdtempSync(join(tmpdir(), "hfi-bench-filter-size-"));
  const commands: string[] = [];
  try {
    const referenceWasm = join(dir, "reference.wasm");
    await buildFilterAt(REFERENCE_COMMIT, referenceWasm);
    const wasm: Record<Variant, string | null> = {
      none: null,
      reference: referenceWasm,
      current: FILTER_WASM,
    };
    const starts: Start[][] = [];
    for (let round = 0; round < rounds; round++) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length] as Variant);
      const results: Start[] = [];
      for (const variant of order) {
        results.push(await startEnvoy(variant, wasm[variant], settleMs, dir, commands));
      }
      starts.push(results);
    }
    const of = (variant: Variant, pick: (s: Start) => number) =>
      starts.map((round) => pick(round.find((s) => s.variant === variant) as Start));
    const perRound = (
      pick: (s: Start) => number,
      f: (current: number, reference: number, none: number) => number,
    ) =>
      starts.map((round) => {
        const [none, reference, current] = VARIANTS.map((v) =>
          pick(round.find((s) => s.variant === v) as Start),
        );
        return f(current as number, reference as number, none as number);
      });
    const mib = (kib: number) => kib / 1024;
    const currentBytes = statSync(FILTER_WASM).size;
    const referenceBytes = statSync(referenceWasm).size;
    const rows = [
      valueRow(
        "release filter .wasm size",
        currentBytes / 1024,
        "KiB",
        undefined,
        `${currentBytes} bytes; reference ${referenceBytes} bytes (${(referenceBytes / 1024).toFixed(1)} KiB)`,
      ),
      roundsRow(
        "Envoy start → /ready, current ÷ reference module",
        perRound(
          (s) => s.readyMs,
          (c, r) => c / r,
        ),
        "ratio",
      ),
      roundsRow(
        "Envoy CPU until /ready, current ÷ reference module",
        perRound(
          (s) => s.cpuReadyMs,
          (c, r) => c / r,
        ),
        "ratio",
      ),
      roundsRow(
        "Envoy CPU until /ready, no filter",
        of("none", (s) => s.cpuReadyMs),
        "ms",
      ),
      roundsRow(
        "Envoy CPU until /ready, reference module",
        of("reference", (s) => s.cpuReadyMs),
        "ms",
      ),
      roundsRow(
        "Envoy CPU until /ready, current module",
        of("current", (s) => s.cpuReadyMs),
        "ms",
      ),
      roundsRow(
        "Envoy start → /ready, no filter",
        of("none", (s) => s.readyMs),
        "ms",
      ),
      roundsRow(
        "Envoy start → /ready, reference module",
        of("reference", (s) => s.readyMs),
        "ms",
      ),
      roundsRow(
        "Envoy start → /ready, current module",
        of("current", (s) => s.readyMs),
        "ms",
      ),
      roundsRow(
        "Envoy start → every VM has the rules, current ÷ reference module",
        perRound(
          (s) => s.rulesMs,
          (c, r) => c / r,
        ),
        "ratio",
      ),
      roundsRow(
        "Envoy RSS with the rules, current ÷ reference module",
        perRound(
          (s) => s.rssKiB,
          (c, r) => c / r,
        ),
        "ratio",
      ),
      roundsRow(
        "Envoy RSS, current − reference module",
        perRound(
          (s) => s.rssKiB,
          (c, r) => mib(c - r),
        ),
        "MiB",
        undefined,
        `${CONCURRENCY + 1} VMs`,
      ),
      roundsRow(
        "Envoy RSS added by the filter, reference module",
        perRound(
          (s) => s.rssKiB,
          (_, r, n) => mib(r - n),
        ),
        "MiB",
      ),
      roundsRow(
        "Envoy RSS added by the filter, current module",
        perRound(
          (s) => s.rssKiB,
          (c, _, n) => mib(c - n),
        ),
        "MiB",
      ),
    ];
    return {
      params: { rounds, settleMs, concurrency: CONCURRENCY, rules: RULES, referenceCommit: REFERENCE_COMMIT },
      commands: [...new Set(commands)],
      samples: { currentBytes, referenceBytes, starts },
      rows,
      notes: [
        `The reference module is the release filter built from ${REFERENCE_COMMIT.slice(0, 10)} (its own filter/ and build code, the same asc). Times are from spawning Envoy, polled every ${POLL_MS} ms; CPU is the scheduler's run time of all Envoy's threads at /ready; RSS ${settleMs / 1000} s after every VM took the rules.`,
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Compiles the release filter as it was at `commit`, with that commit's own build code. */
async function buildFilterAt(commit: string, outFile: string): Promise<void> {
  const tree = mkdtempSync(join(tmpdir(), "hfi-bench-filter-at-"));
  try {
    await $`git archive ${commit} filter src | tar -x -C ${tree}`.cwd(ROOT).quiet();
    symlinkSync(join(ROOT, "node_modules"), join(tree, "node_modules"));
    const { compileFilter } = await import(join(tree, "src/build-filter/compile.ts"));
    writeFileSync(outFile, await compileFilter({ baseDir: join(tree, "filter") }));
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
}

async function startEnvoy(
  variant: Variant,
  wasmFile: string | null,
  settleMs: number,
  dir: string,
  commands: string[],
): Promise<Start> {
  const stub = startStubControlPlane();
  const [port, adminPort] = [await freePort(), await freePort()];
  const authority = "filter-size";
  // The oldest format that carries the rules, as the control plane serves it: the reference reads it too.
  const revision = 1;
  stub.publish(JSON.stringify(assembleRuleSet(nonMatchingRules(RULES), revision)), revision, authority);
  const filters = wasmFile === null ? [] : [hfiFilter({ authority, wasmFile })];
  const configFile = join(dir, `envoy-${variant}.json`);
  writeFileSync(
    configFile,
    JSON.stringify(
      envoyConfig({ adminPort, stubPort: stub.port, listeners: [{ name: "size", port, filters }] }),
    ),
  );
  const startedAt = performance.now();
  const envoy = spawnLogged(envoyArgs(ENVOY_BIN, configFile, CONCURRENCY), join(dir, `envoy-${variant}.log`));
  commands.push(envoy.command);
  try {
    const readyMs = await until(startedAt, async () => {
      if (envoy.proc.exitCode !== null) throw new Error(`Envoy exited; log tail:\n${tail(envoy.logFile)}`);
      return fetch(`http://127.0.0.1:${adminPort}/ready`)
        .then((r) => r.ok)
        .catch(() => false);
    });
    const cpuReadyMs = schedMicros(envoy.proc.pid) / 1000;
    const rulesMs =
      wasmFile === null
        ? readyMs
        : await until(startedAt, async () => stub.caughtUp(revision, authority) >= CONCURRENCY + 1);
    await Bun.sleep(settleMs);
    return { variant, readyMs, cpuReadyMs, rulesMs, rssKiB: memoryKiB(envoy.proc.pid).rss };
  } finally {
    await terminate(envoy.proc);
    stub.stop();
  }
}

/** Milliseconds from `startedAt` until `done` is true (checked every POLL_MS, at most 30 s). */
async function until(startedAt: number, done: () => Promise<boolean>): Promise<number> {
  while (performance.now() - startedAt < 30_000) {
    if (await done()) return performance.now() - startedAt;
    await Bun.sleep(POLL_MS);
  }
  throw new Error("timed out after 30 s");
}
