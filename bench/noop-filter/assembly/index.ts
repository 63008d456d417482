// @ts-nocheck: AssemblyScript (asc compiles it; tsc sees bench/** as TypeScript).
/**
 * A do-nothing proxy-wasm 0.2.1 filter, benchmark variant wasm-noop: it exports the same callbacks
 * as the hfi filter (Envoy calls into a VM only for the callbacks a module exports, so this makes the
 * same VM crossings per request) and does no work in any of them. wasm-noop − router-only is the cost
 * of having a Wasm filter at all; hfi-100 − wasm-noop is what hfi's own work adds.
 *
 * Built with an abort status (build.ts replaces ABORT_STATUS), it is variant wasm-abort instead:
 * every request is answered at once with that status and nothing read — the least any Wasm filter
 * can pay for an abort, the floor under hfi-abort.
 */
import "./abi/abort";
import { proxy_send_local_response } from "./abi/env";

/** 0: pass every request. build.ts rewrites this line for the aborting build. */
const ABORT_STATUS: u32 = 0;

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

/** 0 = Continue, 1 = StopIteration (after a local response). */
export function proxy_on_request_headers(_contextId: u32, _numHeaders: u32, _endOfStream: bool): u32 {
  if (ABORT_STATUS === 0) return 0;
  proxy_send_local_response(ABORT_STATUS, 0, 0, 0, 0, 0, 0, -1);
  return 1;
}

export function proxy_on_request_body(_contextId: u32, _bodySize: u32, _endOfStream: bool): u32 {
  return 0;
}

export function proxy_on_response_headers(_contextId: u32, _numHeaders: u32, _endOfStream: bool): u32 {
  return 0;
}

export function proxy_on_response_body(_contextId: u32, _bodySize: u32, _endOfStream: bool): u32 {
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
