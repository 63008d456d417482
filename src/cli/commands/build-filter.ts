import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { defineCommand } from "citty";

export default defineCommand({
  meta: {
    name: "build-filter",
    description:
      "Compile the Envoy Wasm filter from the sources built into hfi (offline, no toolchain needed)",
  },
  args: {
    output: {
      type: "string",
      alias: "o",
      valueHint: "FILE",
      description:
        "Where to write the module; - for stdout (default hfi-filter.wasm, or hfi-filter.debug.wasm)",
    },
    debug: {
      type: "boolean",
      description: "Debug build: unoptimised, with names (also prints stack traces)",
    },
  },
  async run({ args }) {
    const debug = args.debug === true;
    const outFile = args.output || (debug ? "hfi-filter.debug.wasm" : "hfi-filter.wasm");
    // Loaded here, not at start-up: the compiler is most of the executable.
    const { buildEmbeddedFilter } = await import("../../build-filter/index.ts");
    const { binary, imports, sourceFiles } = await buildEmbeddedFilter({ debug });
    if (outFile === "-") process.stdout.write(binary);
    else await writeFile(outFile, binary);
    const sha256 = createHash("sha256").update(binary).digest("hex");
    const report = outFile === "-" ? console.error : console.log;
    report(
      `${outFile === "-" ? "<stdout>" : outFile}: ${binary.byteLength} bytes, ${debug ? "debug" : "release"} build of ${sourceFiles} embedded sources`,
    );
    report(`sha256: ${sha256}`);
    report(`imports (${imports.length}), all provided by Envoy:\n  ${imports.join("\n  ")}`);
  },
});
