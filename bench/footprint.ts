/**
 * Footprint (bench/README.md, footprint): the release filter's size, Envoy's RSS without and with the filter
 * (idle, and after a load run), and the size of the `dist/hfi` executable. Each Envoy runs alone,
 * `--concurrency 2` (so 3 filter VMs: main thread + 2 workers), one `direct_response` listener;
 * the hfi configurations get 100 or 1,000 rules from the RuleSet stub.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "bun";
import { ENVOY_BIN, FILTER_WASM, HFI_BIN } from "../test/support/paths.ts";
import { freePort } from "../test/support/ports.ts";
import { spawnLogged, terminate, waitForUrl } from "../test/support/process.ts";
import { startStubControlPlane } from "../test/support/stub-control-plane.ts";
import { envoyArgs, envoyConfig, hfiFilter, type ListenerSpec } from "./envoy-config.ts";
import { memoryKiB } from "./machine.ts";
import { type BenchContext, type BenchResult, type BenchRow, valueRow } from "./report.ts";
import { nonMatchingRules } from "./rules.ts";
import { ensureWrk, runWrk } from "./wrk.ts";

const WASM_TARGET_BYTES = 96 * 1024;
const CONCURRENCY = 2;

interface EnvoyMemory {
  config: string;
  idleKiB: number;
  afterLoadKiB: number;
  peakKiB: number;
  requests: number;
}

export async function footprint(ctx: BenchContext): Promise<BenchResult> {
  await ensureWrk();
  const loadS = ctx.quick ? 2 : 15;
  const settleMs = ctx.quick ? 500 : 3000;
  const commands: string[] = [];
  const wasmBytes = statSync(FILTER_WASM).size;
  const wasmGzipBytes = gzipSync(readFileSync(FILTER_WASM)).byteLength;
  const hfiBytes = statSync(HFI_BIN).size;

  const envoys: EnvoyMemory[] = [];
  for (const rules of [null, 100, 1000]) {
    envoys.push(await envoyMemory(rules, loadS, settleMs, commands));
  }
  const [none, hfi100, hfi1000] = envoys as [EnvoyMemory, EnvoyMemory, EnvoyMemory];
  const mib = (kib: number) => kib / 1024;
  const vms = CONCURRENCY + 1;
  const rows: BenchRow[] = [
    valueRow(
      "release filter .wasm size",
      wasmBytes / 1024,
      "KiB",
      { op: "<=", bound: WASM_TARGET_BYTES / 1024 },
      `${wasmBytes} bytes; gzip ${(wasmGzipBytes / 1024).toFixed(1)} KiB`,
    ),
    valueRow("Envoy RSS idle, no filter", mib(none.idleKiB), "MiB"),
    valueRow("Envoy RSS idle, hfi filter + 100 rules", mib(hfi100.idleKiB), "MiB"),
    valueRow("Envoy RSS idle, hfi filter + 1,000 rules", mib(hfi1000.idleKiB), "MiB"),
    valueRow(
      "Envoy RSS added by the filter, idle, 100 rules",
      mib(hfi100.idleKiB - none.idleKiB),
      "MiB",
      undefined,
      `${vms} VMs: ≈ ${((hfi100.idleKiB - none.idleKiB) / vms / 1024).toFixed(1)} MiB each`,
    ),
    valueRow(
      "Envoy RSS after load, no filter",
      mib(none.afterLoadKiB),
      "MiB",
      undefined,
      `${none.requests} requests`,
    ),
    valueRow(
      "Envoy RSS after load, hfi filter + 100 rules",
      mib(hfi100.afterLoadKiB),
      "MiB",
      undefined,
      `${hfi100.requests} requests`,
    ),
    valueRow(
      "Envoy RSS after load, hfi filter + 1,000 rules",
      mib(hfi1000.afterLoadKiB),
      "MiB",
      undefined,
      `${hfi1000.requests} requests`,
    ),
    valueRow(
      "Envoy RSS added by the filter, after load, 100 rules",
      mib(hfi100.afterLoadKiB - none.afterLoadKiB),
      "MiB",
    ),
    valueRow(
      "dist/hfi executable size",
      hfiBytes / 1024 / 1024,
      "MiB",
      undefined,
      "Bun single-file executable (runtime included)",
    ),
  ];
  return {
    params: { concurrency: CONCURRENCY, loadSeconds: loadS, settleMs, WASM_TARGET_BYTES },
    commands: [...new Set(commands)],
    samples: { wasmBytes, wasmGzipBytes, hfiBytes, envoys },
    rows,
    notes: [
      `Envoy --concurrency ${CONCURRENCY}: the filter runs one VM per worker plus one on the main thread (${vms} VMs). Idle = ${settleMs / 1000} s after the rules were taken; after load = right after ${loadS} s of wrk at 32 connections.`,
    ],
  };
}

async function envoyMemory(
  rules: number | null,
  loadS: number,
  settleMs: number,
  commands: string[],
): Promise<EnvoyMemory> {
  const dir = mkdtempSync(join(tmpdir(), "hfi-bench-footprint-"));
  const stub = startStubControlPlane();
  const [port, adminPort] = [await freePort(), await freePort()];
  const authority = `R${rules}`;
  const revision = rules === null ? 0 : stub.publishRules(nonMatchingRules(rules), authority);
  const filters = rules === null ? [] : [hfiFilter({ authority, wasmFile: FILTER_WASM })];
  const listeners: ListenerSpec[] = [{ name: "footprint", port, filters }];
  const configFile = join(dir, "envoy.json");
  writeFileSync(configFile, JSON.stringify(envoyConfig({ adminPort, stubPort: stub.port, listeners })));
  const envoy = spawnLogged(envoyArgs(ENVOY_BIN, configFile, CONCURRENCY), join(dir, "envoy.log"));
  commands.push(envoy.command);
  try {
    await waitForUrl(`http://127.0.0.1:${adminPort}/ready`, envoy);
    const deadline = Date.now() + 20_000;
    while (rules !== null && stub.caughtUp(revision, authority) < CONCURRENCY + 1) {
      if (Date.now() > deadline) throw new Error(`Envoy's filters did not take the ${rules} rules`);
      await Bun.sleep(50);
    }
    await Bun.sleep(settleMs);
    const idle = memoryKiB(envoy.proc.pid);
    const load = await runWrk({
      url: `http://127.0.0.1:${port}/api/items`,
      connections: 32,
      durationS: loadS,
    });
    commands.push(load.command);
    const after = memoryKiB(envoy.proc.pid);
    return {
      config: rules === null ? "no filter" : `hfi, ${rules} rules`,
      idleKiB: idle.rss,
      afterLoadKiB: after.rss,
      peakKiB: after.hwm,
      requests: load.summary.requests,
    };
  } finally {
    await terminate(envoy.proc);
    stub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
