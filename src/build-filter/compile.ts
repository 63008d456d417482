import asc from "./asc.js";
import { ascArgs, OUTPUT_NAME } from "./options.ts";

export interface CompileOptions {
  debug?: boolean;
  /** The filter directory: where asc reads `assembly/**` from, or only a label when `sources` is given. */
  baseDir: string;
  /** Filter sources by path relative to `baseDir` (e.g. "assembly/index.ts"); read from disk when absent. */
  sources?: Readonly<Record<string, string>>;
}

/**
 * Compiles the filter to Wasm bytes in-process; throws with the compiler's diagnostics on failure.
 * With `sources`, asc sees only those files (its standard library is built into asc itself), so it
 * needs neither the disk nor node_modules.
 */
export async function compileFilter({
  debug = false,
  baseDir,
  sources,
}: CompileOptions): Promise<Uint8Array> {
  let binary: Uint8Array | undefined;
  const result = await asc.main(ascArgs(debug, baseDir), {
    ...(sources && {
      readFile: (name: string) => sources[name] ?? null,
      listFiles: () => null,
    }),
    writeFile: (name, contents) => {
      if (name === OUTPUT_NAME && contents instanceof Uint8Array) binary = contents;
    },
  });
  if (result.error || !binary) {
    throw new Error(`asc failed: ${result.error?.message ?? "no output"}\n${result.stderr.toString()}`);
  }
  return binary;
}
