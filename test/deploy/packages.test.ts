/**
 * `npm ci` on the Node.js version package.json promises (`engines.node`, a `>=MAJOR` floor) installs
 * every locked package without an EBADENGINE warning: no dependency, dev or not, asks for more.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { ROOT } from "../support/paths.ts";

const manifest = await Bun.file(join(ROOT, "package.json")).json();
const lock = await Bun.file(join(ROOT, "package-lock.json")).json();

test("every locked package runs on the Node.js floor of package.json", () => {
  const floor = /^>=(\d+)$/.exec(manifest.engines.node)?.[1];
  expect(floor).toBeDefined();
  const wantMore = Object.entries<{ engines?: { node?: string } }>(lock.packages)
    .filter(([, entry]) => entry.engines?.node !== undefined)
    .filter(([, entry]) => !Bun.semver.satisfies(`${floor}.0.0`, entry.engines!.node!))
    .map(([path, entry]) => `${path}: node ${entry.engines!.node}`);
  expect(wantMore).toEqual([]);
});

test("the lock file is the manifest's: same dependencies, same ranges", () => {
  const root = lock.packages[""];
  expect(root.dependencies).toEqual(manifest.dependencies);
  expect(root.devDependencies).toEqual(manifest.devDependencies);
  expect(root.engines).toEqual(manifest.engines);
});
