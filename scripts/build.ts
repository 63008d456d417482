/**
 * `npm run build`: dist/hfi-filter.wasm (release filter) and dist/hfi (single executable).
 * Both paths are a contract other tooling relies on.
 */
import { $ } from "bun";

const root = new URL("..", import.meta.url).pathname;
$.cwd(root);

await $`bun scripts/build-filter.ts`;

const commit = (await $`git rev-parse --short HEAD`.nothrow().quiet()).stdout.toString().trim() || "unknown";
await $`bun build --compile --minify --sourcemap src/cli/main.ts --outfile dist/hfi --define HFI_GIT_COMMIT=${JSON.stringify(commit)}`.quiet();
const size = Bun.file(`${root}dist/hfi`).size;
console.log(`built dist/hfi (${(size / 1024 / 1024).toFixed(1)} MiB, commit ${commit})`);
