/**
 * Builds bench/noop-filter exactly as the hfi filter is built (the shared asc flags, -Oz, the same
 * import check): `bun bench/noop-filter/build.ts [-o FILE] [--abort STATUS]`. With an abort status,
 * the module answers every request with it (variant wasm-abort); without, it passes every request.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { checkFilterModule, compileFilter } from "../../src/build-filter/index.ts";

const NOOP_DIR = resolve(import.meta.dir);
const SOURCES = ["assembly/index.ts", "assembly/abi/abort.ts", "assembly/abi/env.ts"];
const ABORT_LINE = "const ABORT_STATUS: u32 = 0;";

export async function buildNoopFilter(
  outFile: string,
  abortStatus = 0,
): Promise<{ bytes: number; imports: string[] }> {
  const sources = Object.fromEntries(SOURCES.map((f) => [f, readFileSync(join(NOOP_DIR, f), "utf8")]));
  const index = sources["assembly/index.ts"] as string;
  if (!index.includes(ABORT_LINE)) throw new Error(`noop-filter: "${ABORT_LINE}" not found in index.ts`);
  sources["assembly/index.ts"] = index.replace(ABORT_LINE, `const ABORT_STATUS: u32 = ${abortStatus};`);
  const binary = await compileFilter({ baseDir: NOOP_DIR, sources });
  const imports = checkFilterModule(binary);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, binary);
  return { bytes: binary.byteLength, imports };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { out: { type: "string", short: "o" }, abort: { type: "string" } },
  });
  const outFile = resolve(values.out ?? "noop-filter.wasm");
  const result = await buildNoopFilter(outFile, Number(values.abort ?? 0));
  console.log(`${outFile}: ${result.bytes} bytes; imports: ${result.imports.join(", ") || "none"}`);
}
