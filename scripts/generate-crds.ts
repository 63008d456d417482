/** Writes the CRDs (src/kubernetes/crd.ts) to deploy/crds/ and the Helm chart's crds/. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { crdManifest } from "../src/kubernetes/crd.ts";

export const CRD_FILES = ["deploy/crds/hfi.dev.yaml", "deploy/helm/hfi/crds/hfi.dev.yaml"];

if (import.meta.main) {
  const root = join(import.meta.dir, "..");
  const manifest = await crdManifest();
  for (const file of CRD_FILES) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), manifest);
    console.log(`wrote ${file}`);
  }
}
