import { readFileSync } from "node:fs";
import { join } from "node:path";
import asc from "./asc.js";
import { ascArgs, OUTPUT_NAME } from "./options.ts";
import { SHARED_CONSTANTS_PATH, sharedConstantsSource } from "./shared-constants.ts";

export interface CompileOptions {
  debug?: boolean;
  /** The filter directory: where asc reads `assembly/**` from, or only a label when `sources` is given. */
  baseDir: string;
  /** Filter sources by path relative to `baseDir` (e.g. "assembly/index.ts"); read from disk when absent. */
  sources?: Readonly<Record<string, string>>;
  /**
   * The tests' twin of the filter: its RuleSet decoder also rejects members it does not read, so a
   * field the control plane emits and the filter ignores fails the golden fixtures. Never released.
   */
  strictDecode?: boolean;
}

/**
 * Compiles the filter to Wasm bytes in-process; throws with the compiler's diagnostics on failure.
 * With `sources`, asc sees only those files (its standard library is built into asc itself), so it
 * needs neither the disk nor node_modules. Either way the shared constants are generated, not read.
 */
export async function compileFilter({
  debug = false,
  baseDir,
  sources,
  strictDecode = false,
}: CompileOptions): Promise<Uint8Array> {
  let binary: Uint8Array | undefined;
  const generated = sharedConstantsSource();
  const result = await asc.main(ascArgs(debug, baseDir, { strictDecode }), {
    readFile: (name: string, dir: string) => {
      if (name === SHARED_CONSTANTS_PATH) return generated;
      return sources ? (sources[name] ?? null) : readFromDisk(join(dir, name));
    },
    ...(sources && { listFiles: () => null }),
    writeFile: (name, contents) => {
      if (name === OUTPUT_NAME && contents instanceof Uint8Array) binary = contents;
    },
  });
  if (result.error || !binary) {
    throw new Error(`asc failed: ${result.error?.message ?? "no output"}\n${result.stderr.toString()}`);
  }
  return binary;
}

/** asc's own reader: a missing file is null (asc then tries the next candidate path). */
function readFromDisk(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}
