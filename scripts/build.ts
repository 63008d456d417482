/**
 * `npm run build`: dist/hfi-filter.wasm (release filter), dist/hfi (single executable) and
 * dist/hfi.mjs (+ dist/node/ chunks: the CLI for Node.js ≥ 20, run by bin/hfi.mjs).
 * These paths are a contract other tooling relies on.
 */
import { $ } from "bun";

const root = new URL("..", import.meta.url).pathname;
$.cwd(root);

await $`bun scripts/build-filter.ts`;

const commit = (await $`git rev-parse --short HEAD`.nothrow().quiet()).stdout.toString().trim() || "unknown";
const define = `HFI_GIT_COMMIT=${JSON.stringify(commit)}`;
// --splitting keeps the embedded compiler (most of the bundle) out of start-up: it loads with build-filter.
await $`bun build --compile --minify --sourcemap --splitting src/cli/main.ts --outfile dist/hfi --define ${define}`.quiet();
await $`rm -rf dist/node && bun build --target node --minify --splitting src/cli/main.ts --outdir dist --entry-naming hfi.mjs --chunk-naming 'node/[name]-[hash].[ext]' --define ${define}`.quiet();
const size = Bun.file(`${root}dist/hfi`).size;
console.log(`built dist/hfi (${(size / 1024 / 1024).toFixed(1)} MiB, commit ${commit})`);
