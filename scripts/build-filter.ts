/**
 * Builds the AssemblyScript filter (filter/assembly) into a proxy-wasm module for Envoy, then checks
 * that Envoy can link it. Usage: bun scripts/build-filter.ts [--debug] [-o FILE]
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import asc from "assemblyscript/asc";

const ROOT = resolve(import.meta.dir, "..");
/** asc runs with this base directory: the `--use abort=` target below is a path relative to it. */
export const FILTER_DIR = resolve(ROOT, "filter");
export const RELEASE_WASM = resolve(ROOT, "dist/hfi-filter.wasm");
export const DEBUG_WASM = resolve(ROOT, "dist/hfi-filter.debug.wasm");

const OUTPUT_NAME = "hfi-filter.wasm";

/**
 * Compiler flags. `--exportStart _initialize` lets Envoy run AS start code as a callback (a Wasm start
 * section would run before any context exists); `--use abort=` routes aborts to proxy_log, since
 * Envoy has no `env.abort`. The default incremental runtime is the one fit for a long-lived VM.
 */
export function ascArgs(debug: boolean): string[] {
  return [
    "assembly/index.ts",
    "--baseDir",
    FILTER_DIR,
    "--outFile",
    OUTPUT_NAME,
    "--exportStart",
    "_initialize",
    "--use",
    "abort=assembly/abi/abort/hfiAbort",
    "--runtime",
    "incremental",
    ...(debug ? ["--debug"] : ["-Oz"]),
    "--noColors",
  ];
}

export interface CompileOptions {
  debug?: boolean;
  /** Filter sources by path relative to filter/ (e.g. "assembly/index.ts"); read from disk when absent. */
  sources?: Record<string, string>;
}

/** Compiles the filter to Wasm bytes; throws with the compiler's diagnostics on failure. */
export async function compileFilter({ debug = false, sources }: CompileOptions = {}): Promise<Uint8Array> {
  let binary: Uint8Array | undefined;
  const result = await asc.main(ascArgs(debug), {
    ...(sources && { readFile: (name: string) => sources[name] ?? null }),
    writeFile: (name, contents) => {
      if (name === OUTPUT_NAME && contents instanceof Uint8Array) binary = contents;
    },
  });
  if (result.error || !binary) {
    throw new Error(`asc failed: ${result.error?.message ?? "no output"}\n${result.stderr.toString()}`);
  }
  return binary;
}

/** Required by Envoy's loader: the ABI marker selects proxy-wasm 0.2.1, the allocator receives host data. */
const REQUIRED_EXPORTS = ["proxy_abi_version_0_2_1", "proxy_on_memory_allocate", "_initialize", "memory"];

/**
 * Throws unless every import is an `env.proxy_*` or `wasi_snapshot_preview1.*` function (anything
 * else, such as AssemblyScript's default `env.abort`, makes Envoy reject the module at link time)
 * and the exports Envoy needs are present. Returns the imports as "module.name".
 */
export function checkFilterModule(binary: Uint8Array): string[] {
  const module = new WebAssembly.Module(binary);
  const imports = WebAssembly.Module.imports(module);
  const foreign = imports.filter(
    (i) =>
      i.kind !== "function" ||
      !((i.module === "env" && i.name.startsWith("proxy_")) || i.module === "wasi_snapshot_preview1"),
  );
  if (foreign.length > 0) {
    const list = foreign.map((i) => `${i.module}.${i.name} (${i.kind})`).join(", ");
    throw new Error(`the filter imports what Envoy does not provide: ${list}`);
  }
  const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const missing = REQUIRED_EXPORTS.filter((name) => !exported.has(name));
  if (missing.length > 0) throw new Error(`the filter does not export: ${missing.join(", ")}`);
  return imports.map((i) => `${i.module}.${i.name}`).sort();
}

export interface BuildOptions {
  debug?: boolean;
  /** Defaults to dist/hfi-filter.wasm, or dist/hfi-filter.debug.wasm with `debug`. */
  outFile?: string;
}

export interface BuildResult {
  outFile: string;
  bytes: number;
  imports: string[];
}

/** Compiles, checks and writes the filter. */
export async function buildFilter({ debug = false, outFile }: BuildOptions = {}): Promise<BuildResult> {
  const binary = await compileFilter({ debug });
  const imports = checkFilterModule(binary);
  const target = resolve(outFile ?? (debug ? DEBUG_WASM : RELEASE_WASM));
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, binary);
  return { outFile: target, bytes: binary.byteLength, imports };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { debug: { type: "boolean", default: false }, out: { type: "string", short: "o" } },
  });
  try {
    const result = await buildFilter({ debug: values.debug, outFile: values.out });
    const kib = (result.bytes / 1024).toFixed(1);
    console.log(`${relative(process.cwd(), result.outFile)}: ${result.bytes} bytes (${kib} KiB)`);
    console.log(`imports (${result.imports.length}):\n  ${result.imports.join("\n  ")}`);
  } catch (error) {
    console.error(`build-filter: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
