import { expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { buildEmbeddedFilter, checkFilterModule, compileFilter } from "./index.ts";

const FILTER_DIR = fileURLToPath(new URL("../../filter/", import.meta.url));

/** A module importing `env.<name>`: (import "env" name (func)). */
function moduleImporting(name: string): Uint8Array {
  const field = [...new TextEncoder().encode(name)];
  const entry = [3, ..."env".split("").map((c) => c.charCodeAt(0)), field.length, ...field, 0, 0];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...[0x01, 0x04, 0x01, 0x60, 0x00, 0x00],
    ...[0x02, entry.length + 1, 0x01, ...entry],
  ]);
}

test("the embedded sources compile to the same bytes as the sources on disk", async () => {
  const fromDisk = await compileFilter({ baseDir: FILTER_DIR });
  const embedded = await buildEmbeddedFilter();
  expect(Buffer.from(embedded.binary).equals(Buffer.from(fromDisk))).toBe(true);
  expect(embedded.imports.every((i) => i.startsWith("env.proxy_") || i.startsWith("wasi_"))).toBe(true);
  expect(embedded.sourceFiles).toBeGreaterThan(10);
}, 30_000);

test("the import check rejects what Envoy does not provide, such as env.abort", () => {
  expect(() => checkFilterModule(moduleImporting("abort"))).toThrow(
    "the filter imports what Envoy does not provide: env.abort (function)",
  );
  expect(() => checkFilterModule(moduleImporting("proxy_log"))).toThrow(
    "the filter does not export: proxy_abi_version_0_2_1, proxy_on_memory_allocate, _initialize, memory",
  );
});
