// A proxy-wasm module for the test host's own tests (host-phases.test.ts), compiled by them with asc:
// it pauses request headers until a tick, buffers bodies to their end, logs every body callback as
// "<request|response> <size> <end>", and rewrites what it buffered so a test can see the rewrite.
// Not part of the filter.

// @ts-ignore: decorator
@external("env", "proxy_log")
declare function proxy_log(level: u32, ptr: usize, len: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_get_buffer_bytes")
declare function proxy_get_buffer_bytes(type: u32, start: usize, max: usize, outPtr: usize, outLen: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_set_buffer_bytes")
declare function proxy_set_buffer_bytes(type: u32, start: usize, len: usize, ptr: usize, size: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_replace_header_map_value")
declare function proxy_replace_header_map_value(map: u32, kPtr: usize, kLen: usize, vPtr: usize, vLen: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_remove_header_map_value")
declare function proxy_remove_header_map_value(map: u32, kPtr: usize, kLen: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_continue_stream")
declare function proxy_continue_stream(stream: u32): u32;
// @ts-ignore: decorator
@external("env", "proxy_set_effective_context")
declare function proxy_set_effective_context(id: u32): u32;

const CONTINUE: u32 = 0;
const PAUSE: u32 = 1;
const STOP_AND_BUFFER: u32 = 1;
const REQUEST_BODY: u32 = 0;
const RESPONSE_BODY: u32 = 1;
const RESPONSE_HEADERS: u32 = 2;

let paused: u32 = 0;

function log(message: string): void {
  const bytes = String.UTF8.encode(message);
  proxy_log(2, changetype<usize>(bytes), bytes.byteLength);
}

function str(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

/** The whole body the host holds for this callback, upper-cased or wrapped in brackets, written back. */
function rewrite(type: u32, size: u32): void {
  const out = memory.data(8);
  if (proxy_get_buffer_bytes(type, 0, size, out, out + 4) != 0) return;
  const body = String.UTF8.decodeUnsafe(load<u32>(out), load<u32>(out + 4));
  const next = str(type == REQUEST_BODY ? body.toUpperCase() : "<" + body + ">");
  proxy_set_buffer_bytes(type, 0, size, changetype<usize>(next), next.byteLength);
}

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_memory_allocate(size: usize): usize {
  return heap.alloc(size);
}

export function proxy_on_context_create(_id: u32, _parent: u32): void {}

export function proxy_on_request_headers(id: u32, _n: u32, _end: u32): u32 {
  paused = id;
  return PAUSE;
}

export function proxy_on_tick(_root: u32): void {
  if (paused == 0) return;
  proxy_set_effective_context(paused);
  paused = 0;
  proxy_continue_stream(0);
}

export function proxy_on_request_body(_id: u32, size: u32, end: u32): u32 {
  log("request " + size.toString() + " " + end.toString());
  if (end == 0) return STOP_AND_BUFFER;
  rewrite(REQUEST_BODY, size);
  return CONTINUE;
}

export function proxy_on_response_headers(_id: u32, _n: u32, _end: u32): u32 {
  const name = str("x-probe");
  const value = str("seen");
  proxy_replace_header_map_value(RESPONSE_HEADERS, changetype<usize>(name), 7, changetype<usize>(value), 4);
  const length = str("content-length");
  proxy_remove_header_map_value(RESPONSE_HEADERS, changetype<usize>(length), 14);
  return CONTINUE;
}

export function proxy_on_response_body(_id: u32, size: u32, end: u32): u32 {
  log("response " + size.toString() + " " + end.toString());
  if (end == 0) return STOP_AND_BUFFER;
  rewrite(RESPONSE_BODY, size);
  return CONTINUE;
}
