/**
 * Builds bench/noop-filter exactly as the hfi filter is built (the shared asc flags, -Oz, the same
 * import check): `bun bench/noop-filter/build.ts [-o FILE]`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { checkFilterModule, compileFilter } from "../../src/build-filter/index.ts";

const NOOP_DIR = resolve(import.meta.dir);

export async function buildNoopFilter(outFile: string): Promise<{ bytes: number; imports: string[] }> {
  const binary = await compileFilter({ baseDir: NOOP_DIR });
  const imports = checkFilterModule(binary);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, binary);
  return { bytes: binary.byteLength, imports };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: "string", short: "o" } } });
  const outFile = resolve(values.out ?? "noop-filter.wasm");
  const result = await buildNoopFilter(outFile);
  console.log(`${outFile}: ${result.bytes} bytes; imports: ${result.imports.join(", ") || "none"}`);
}
