/** Where the built artefacts and tools are, for tests, benchmarks and the local stack. */
import { join } from "node:path";

export const ROOT = new URL("../..", import.meta.url).pathname;
export const HFI_BIN = join(ROOT, "dist/hfi");
export const FILTER_WASM = join(ROOT, "dist/hfi-filter.wasm");
export const ENVOY_BIN = join(ROOT, ".tools/venv/bin/envoy");
