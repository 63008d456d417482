/** The file name asc writes the module to; it reaches a writeFile callback, never the disk directly. */
export const OUTPUT_NAME = "hfi-filter.wasm";

/**
 * Compiler flags, the same for `scripts/build-filter.ts` and `hfi build-filter`, so both produce
 * byte-identical modules. `--exportStart _initialize` lets Envoy run AS start code as a callback
 * (a Wasm start section would run before any context exists); `--use abort=` routes aborts to
 * proxy_log, since Envoy has no `env.abort`. The default incremental runtime is the one fit for a
 * long-lived VM. `baseDir` is the filter directory (real or virtual); `--use abort=` is relative to it.
 */
export function ascArgs(debug: boolean, baseDir: string, { strictDecode = false } = {}): string[] {
  return [
    "assembly/index.ts",
    "--baseDir",
    baseDir,
    "--outFile",
    OUTPUT_NAME,
    "--exportStart",
    "_initialize",
    "--use",
    "abort=assembly/abi/abort/hfiAbort",
    "--runtime",
    "incremental",
    ...(debug ? ["--debug"] : ["-Oz"]),
    // A compile-time constant: `isDefined(HFI_STRICT_DECODE)` in filter/assembly/json/strict.ts.
    ...(strictDecode ? ["--use", "HFI_STRICT_DECODE=1"] : []),
    "--noColors",
  ];
}
