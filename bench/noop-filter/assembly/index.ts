// @ts-nocheck: AssemblyScript (asc compiles it; tsc sees bench/** as TypeScript).
/**
 * A do-nothing proxy-wasm 0.2.1 filter, benchmark listener E: it exports the same callbacks as the
 * hfi filter (so Envoy makes the same VM crossings per request) and does no work in any of them.
 * E − A is the cost of having a Wasm filter at all; C − E is what hfi's rule evaluation adds.
 */
import "./abi/abort";

/** ABI marker: its presence selects proxy-wasm 0.2.1; never called. */
export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_memory_allocate(size: usize): usize {
  return heap.alloc(size);
}

export function proxy_on_vm_start(_rootContextId: u32, _vmConfigurationSize: u32): bool {
  return true;
}

export function proxy_on_context_create(_contextId: u32, _parentContextId: u32): void {}

export function proxy_on_configure(_rootContextId: u32, _pluginConfigurationSize: u32): bool {
  return true;
}

/** 0 = Continue. */
export function proxy_on_request_headers(_contextId: u32, _numHeaders: u32, _endOfStream: bool): u32 {
  return 0;
}

export function proxy_on_tick(_rootContextId: u32): void {}

export function proxy_on_http_call_response(
  _rootContextId: u32,
  _token: u32,
  _numHeaders: u32,
  _bodySize: u32,
  _numTrailers: u32,
): void {}

export function proxy_on_done(_contextId: u32): bool {
  return true;
}

export function proxy_on_delete(_contextId: u32): void {}
