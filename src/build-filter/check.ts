/** Required by Envoy's loader: the ABI marker selects proxy-wasm 0.2.1, the allocator receives host data. */
const REQUIRED_EXPORTS = ["proxy_abi_version_0_2_1", "proxy_on_memory_allocate", "_initialize", "memory"];

/**
 * Throws unless every import is an `env.proxy_*` or `wasi_snapshot_preview1.*` function (anything
 * else, such as AssemblyScript's default `env.abort`, makes Envoy reject the module at link time)
 * and the exports Envoy needs are present. Returns the imports as "module.name", sorted.
 */
export function checkFilterModule(binary: Uint8Array): string[] {
  const module = new WebAssembly.Module(binary);
  const imports = WebAssembly.Module.imports(module);
  const foreign = imports.filter(
    (i) =>
      i.kind !== "function" ||
      !((i.module === "env" && i.name.startsWith("proxy_")) || i.module === "wasi_snapshot_preview1"),
  );
  if (foreign.length > 0) {
    const list = foreign.map((i) => `${i.module}.${i.name} (${i.kind})`).join(", ");
    throw new Error(`the filter imports what Envoy does not provide: ${list}`);
  }
  const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const missing = REQUIRED_EXPORTS.filter((name) => !exported.has(name));
  if (missing.length > 0) throw new Error(`the filter does not export: ${missing.join(", ")}`);
  return imports.map((i) => `${i.module}.${i.name}`).sort();
}
