/**
 * Builds the AssemblyScript filter (filter/assembly) into a proxy-wasm module for Envoy, then checks
 * that Envoy can link it. Usage: bun scripts/build-filter.ts [--debug] [-o FILE]
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
// The asc flags and the import check are shared with `hfi build-filter`.
import { checkFilterModule, compileFilter } from "../src/build-filter/index.ts";

/** This script's API since before the sharing: the same functions `hfi build-filter` uses. */
export { checkFilterModule, compileFilter };

const ROOT = resolve(import.meta.dir, "..");
/** asc runs with this base directory: the `--use abort=` target below is a path relative to it. */
export const FILTER_DIR = resolve(ROOT, "filter");
export const RELEASE_WASM = resolve(ROOT, "dist/hfi-filter.wasm");
export const DEBUG_WASM = resolve(ROOT, "dist/hfi-filter.debug.wasm");

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
  const binary = await compileFilter({ debug, baseDir: FILTER_DIR });
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
