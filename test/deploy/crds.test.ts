/** The checked-in CRDs are what src/kubernetes/crd.ts generates (`bun scripts/generate-crds.ts`). */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CRD_FILES } from "../../scripts/generate-crds.ts";
import { crdManifest } from "../../src/kubernetes/crd.ts";
import { ROOT } from "./support/helm.ts";

test.each(CRD_FILES)("%s is the generated CRD manifest", async (file) => {
  expect(readFileSync(join(ROOT, file), "utf8")).toBe(await crdManifest());
});
