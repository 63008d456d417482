/**
 * Compiles the standalone `hfi` (Bun runtime + CLI + control plane + embedded filter compiler) for one
 * target. Shared by scripts/build.ts and scripts/release.ts so both ship the same thing.
 */
import { dirname, join } from "node:path";
import type { BunPlugin } from "bun";

const ROOT = new URL("..", import.meta.url).pathname;
const ETCD3_POOL = /[\\/]etcd3[\\/]lib[\\/]connection-pool\.js$/;
const ETCD3_PROTOS = ["rpc.proto", "kv.proto", "auth.proto"];
/** The expression etcd3 builds its proto path with, as it appears in its source. */
const ETCD3_PROTO_PATH = ["`$", "{__dirname}/../proto/rpc.proto`"].join("");

/**
 * etcd3 loads its gRPC definitions from `${__dirname}/../proto/*.proto` at run time; in a compiled
 * binary that would be the build machine's node_modules. Embed the three files (kept under their own
 * names, so rpc.proto's imports resolve beside it) and point etcd3 at the embedded copy.
 */
const embedEtcd3Protos: BunPlugin = {
  name: "embed-etcd3-protos",
  setup(build) {
    build.onLoad({ filter: ETCD3_POOL }, async ({ path }) => {
      const protoDir = join(dirname(path), "../proto");
      const requires = ETCD3_PROTOS.map(
        (file, i) => `const __hfiProto${i} = require(${JSON.stringify(join(protoDir, file))});`,
      ).join("\n");
      const source = await Bun.file(path).text();
      const patched = source.replace(ETCD3_PROTO_PATH, "__hfiProto0");
      if (patched === source) throw new Error(`etcd3 changed: no proto path to patch in ${path}`);
      return { contents: `${requires}\n${patched}`, loader: "js" };
    });
  },
};

export interface CompileOptions {
  outfile: string;
  commit: string;
  /** A Bun compile target such as `bun-linux-arm64`; the host when absent. */
  target?: Bun.Build.CompileTarget;
}

export async function compileHfi({ outfile, commit, target }: CompileOptions): Promise<void> {
  const result = await Bun.build({
    // The policy validation worker is an entrypoint of its own, so `new Worker` finds it inside the binary.
    entrypoints: [join(ROOT, "src/cli/main.ts"), join(ROOT, "src/server/policy-validation-worker.ts")],
    compile: target ? { target, outfile } : { outfile },
    minify: true,
    // Keeps the embedded compiler (most of the bundle) out of start-up: it loads with build-filter.
    splitting: true,
    define: { HFI_GIT_COMMIT: JSON.stringify(commit) },
    loader: { ".proto": "file" },
    naming: { entry: "[name].[ext]", asset: "[name].[ext]" },
    plugins: [embedEtcd3Protos],
  });
  if (!result.success) throw new AggregateError(result.logs, `could not compile ${outfile}`);
}
