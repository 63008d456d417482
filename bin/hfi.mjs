#!/usr/bin/env node
// The npm package's `hfi`: the CLI bundled for Node.js >= 20 (and Bun) by `npm run build`.
// `hfi serve` runs on @hono/node-server under Node; the standalone binary is dist/hfi.
const [major] = process.versions.node.split(".").map(Number);
if (major < 20 && !process.versions.bun) {
  console.error(`hfi: Node.js >= 20 is required (this is ${process.version})`);
  process.exit(1);
}
const entry = new URL("../dist/hfi.mjs", import.meta.url);
try {
  await import(entry.href);
} catch (err) {
  if (err?.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes(entry.pathname)) {
    console.error("hfi: dist/hfi.mjs is missing; run `npm run build` first");
    process.exit(1);
  }
  throw err;
}
