/** Compiles probe/body-probe.ts (once per process) for the host's own tests and the Envoy check. */
import { join } from "node:path";
import asc from "../../../src/build-filter/asc.js";

const PROBE = join(import.meta.dir, "body-probe.ts");
let probe: Promise<Uint8Array> | undefined;

export function probeWasm(): Promise<Uint8Array> {
  probe ??= (async () => {
    let binary: Uint8Array | undefined;
    const result = await asc.main(
      [
        PROBE,
        "--outFile",
        "probe.wasm",
        "--runtime",
        "stub",
        "--exportStart",
        "_initialize",
        "--use",
        "abort=",
      ],
      {
        writeFile: (name, contents) => {
          if (name === "probe.wasm" && contents instanceof Uint8Array) binary = contents;
        },
      },
    );
    if (result.error || !binary) throw new Error(`asc: ${result.error?.message}\n${result.stderr}`);
    return binary;
  })();
  return probe;
}
