/**
 * `npm run build`: dist/hfi-filter.wasm (release filter), dist/hfi (single executable) and
 * dist/hfi.mjs (+ dist/node/ chunks: the CLI for Node.js ≥ 20, run by bin/hfi.mjs) and
 * dist/client.mjs (the typed API client, `hfi/client` for Node.js; Bun imports its source).
 * These paths are a contract other tooling relies on.
 */
import { $ } from "bun";
import { compileHfi } from "./compile-hfi.ts";

const root = new URL("..", import.meta.url).pathname;
$.cwd(root);

await $`bun scripts/build-filter.ts`;

const commit =
  process.env.HFI_GIT_COMMIT ||
  (await $`git rev-parse --short HEAD`.nothrow().quiet()).stdout.toString().trim() ||
  "unknown";
await compileHfi({ outfile: "dist/hfi", commit });
// etcd3 stays external for Node: it loads its .proto files from its own package directory.
await $`rm -rf dist/node && bun build --target node --minify --splitting --external etcd3 src/cli/main.ts --outdir dist --entry-naming hfi.mjs --chunk-naming 'node/[name]-[hash].[ext]' --define HFI_GIT_COMMIT=${JSON.stringify(commit)}`.quiet();
await $`bun build --target node --minify src/client/index.ts --outfile dist/client.mjs`.quiet();
const size = Bun.file(`${root}dist/hfi`).size;
console.log(`built dist/hfi (${(size / 1024 / 1024).toFixed(1)} MiB, commit ${commit})`);
