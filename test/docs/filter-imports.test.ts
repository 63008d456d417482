/**
 * docs/FILTER.md names the host functions the release build (dist/hfi-filter.wasm) imports, and
 * how many: an import added or dropped without its mention fails here.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FILTER_WASM } from "../support/paths.ts";
import { ROOT } from "./support/session.ts";

test("FILTER.md lists every import of the release build, and counts them right", () => {
  const filterDoc = readFileSync(join(ROOT, "docs/FILTER.md"), "utf8");
  const paragraph = /Imports of the release build \((\d+)\):([\s\S]*?)\n\n/.exec(filterDoc);
  expect(paragraph).not.toBeNull();
  const [, count, list] = paragraph as RegExpExecArray;
  const listed = [...(list ?? "").matchAll(/`(\w+)`/g)].map((m) => m[1]).sort();
  const imported = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(FILTER_WASM)))
    .map((i) => i.name)
    .sort();
  expect(imported.length).toBeGreaterThan(10);
  expect(listed).toEqual(imported);
  expect(Number(count)).toBe(imported.length);
});
