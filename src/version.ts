import pkg from "../package.json" with { type: "json" };

declare const HFI_GIT_COMMIT: string | undefined;

export const HFI_VERSION: string = pkg.version;
/** Injected by scripts/build.ts (`--define`); "dev" when running from source. */
export const GIT_COMMIT: string = typeof HFI_GIT_COMMIT === "string" ? HFI_GIT_COMMIT : "dev";
export const PROXY_WASM_ABI = "0.2.1";
