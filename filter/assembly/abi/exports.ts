/**
 * The proxy_on_* callbacks Envoy calls, with the exact wasm signatures of docs/PROXY_WASM_ABI.md. They
 * only delegate. No optional parameters: an exported default parameter becomes a varargs trap.
 */
import * as contexts from "../contexts";
import { allocateForHost } from "./memory";

/** ABI marker: its presence selects proxy-wasm 0.2.1; never called. */
export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_memory_allocate(size: usize): usize {
  return allocateForHost(size);
}

export function proxy_on_vm_start(rootContextId: u32, vmConfigurationSize: u32): bool {
  return contexts.onVmStart();
}

export function proxy_on_context_create(contextId: u32, parentContextId: u32): void {
  contexts.onContextCreate(contextId, parentContextId);
}

export function proxy_on_configure(rootContextId: u32, pluginConfigurationSize: u32): bool {
  return contexts.onConfigure(rootContextId, pluginConfigurationSize);
}

export function proxy_on_request_headers(contextId: u32, numHeaders: u32, endOfStream: bool): u32 {
  return contexts.onRequestHeaders(contextId, endOfStream);
}

export function proxy_on_request_body(contextId: u32, bodySize: u32, endOfStream: bool): u32 {
  return contexts.onRequestBody(contextId, bodySize, endOfStream);
}

export function proxy_on_response_headers(contextId: u32, numHeaders: u32, endOfStream: bool): u32 {
  return contexts.onResponseHeaders(contextId, endOfStream);
}

export function proxy_on_response_body(contextId: u32, bodySize: u32, endOfStream: bool): u32 {
  return contexts.onResponseBody(contextId, bodySize, endOfStream);
}

export function proxy_on_tick(rootContextId: u32): void {
  contexts.onTick(rootContextId);
}

export function proxy_on_http_call_response(
  rootContextId: u32,
  token: u32,
  numHeaders: u32,
  bodySize: u32,
  numTrailers: u32,
): void {
  contexts.onHttpCallResponse(rootContextId, token, numHeaders, bodySize);
}

export function proxy_on_done(contextId: u32): bool {
  return contexts.onDone(contextId);
}

export function proxy_on_delete(contextId: u32): void {
  contexts.onDelete(contextId);
}
