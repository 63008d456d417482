import { checkFilterModule } from "./check.ts";
import { compileFilter } from "./compile.ts";
import { readFilterSources } from "./read-sources.ts" with { type: "macro" };

/** The filter sources as of the build, inlined by Bun at bundle (or transpile) time. */
const EMBEDDED_SOURCES: Readonly<Record<string, string>> = readFilterSources();
/** asc needs a base directory; nothing is read from it when the sources are given. */
const VIRTUAL_BASE_DIR = "/hfi/filter";

export interface FilterBuild {
  binary: Uint8Array;
  /** "module.name" of every import, all checked to be ones Envoy provides. */
  imports: string[];
  /** How many source files went in. */
  sourceFiles: number;
}

/** Compiles and checks the filter from the embedded sources: no disk, no node_modules, no network. */
export async function buildEmbeddedFilter({ debug = false }: { debug?: boolean } = {}): Promise<FilterBuild> {
  const binary = await compileFilter({ debug, baseDir: VIRTUAL_BASE_DIR, sources: EMBEDDED_SOURCES });
  return { binary, imports: checkFilterModule(binary), sourceFiles: Object.keys(EMBEDDED_SOURCES).length };
}
