/**
 * Typed wrappers over the raw imports: strings in, strings out, no pointers leak past this file.
 * Every outgoing buffer is held in a managed local for the duration of the call (docs/PROXY_WASM_ABI.md,
 * "Memory rules").
 */
import { BufferType, LogLevel, MapType, MetricType, Status, StreamType, WasiClock } from "./enums";
import * as imports from "./imports";
import {
  clearOut,
  HostBlock,
  KEY_SCRATCH,
  KEY_SCRATCH_SIZE,
  OUT_LEN,
  OUT_PTR,
  OUT_U64,
  takeOutBytes,
  takeOutString,
} from "./memory";
import { serializePairs } from "./pairs";

export function log(level: LogLevel, message: string): void {
  const bytes = String.UTF8.encode(message);
  imports.proxy_log(level, changetype<usize>(bytes), bytes.byteLength);
}

/** Whether Envoy's wasm logger would print `level`; lets callers skip building the message. */
export function logEnabled(level: LogLevel): bool {
  if (imports.proxy_get_log_level(OUT_PTR) != Status.Ok) return true;
  return load<u32>(OUT_PTR) <= <u32>level;
}

/** Value of a header, or null when absent. Only the first value of a repeated header (Envoy's choice). */
export function getHeader(map: MapType, name: string): string | null {
  const len = String.UTF8.byteLength(name);
  let key: ArrayBuffer | null = null; // keeps a long name's bytes rooted during the call
  let keyPtr = KEY_SCRATCH;
  if (len <= KEY_SCRATCH_SIZE) {
    String.UTF8.encodeUnsafe(changetype<usize>(name), name.length, KEY_SCRATCH);
  } else {
    key = String.UTF8.encode(name);
    keyPtr = changetype<usize>(key);
  }
  clearOut();
  const status = imports.proxy_get_header_map_value(map, keyPtr, len, OUT_PTR, OUT_LEN);
  return status == Status.Ok ? takeOutString() : null;
}

/**
 * Reads a whole header map, serialized as pairs (docs/PROXY_WASM_ABI.md), into `into`; false when
 * unavailable.
 */
export function readHeaderPairs(map: MapType, into: HostBlock): bool {
  clearOut();
  if (imports.proxy_get_header_map_pairs(map, OUT_PTR, OUT_LEN) != Status.Ok) return false;
  into.take();
  return true;
}

/**
 * Sets a request header, replacing any value it had, on the current (or effective) stream. `key`
 * (lower-case) and `value` are UTF-8 bytes encoded once by the caller.
 */
export function replaceHeader(map: MapType, key: ArrayBuffer, value: ArrayBuffer): bool {
  return (
    imports.proxy_replace_header_map_value(
      map,
      changetype<usize>(key),
      key.byteLength,
      changetype<usize>(value),
      value.byteLength,
    ) == Status.Ok
  );
}

/** Whether header `key` (lower-case UTF-8 bytes) is in the map; the value the host hands over is freed. */
export function hasHeader(map: MapType, key: ArrayBuffer): bool {
  clearOut();
  const status = imports.proxy_get_header_map_value(
    map,
    changetype<usize>(key),
    key.byteLength,
    OUT_PTR,
    OUT_LEN,
  );
  const ptr = load<u32>(OUT_PTR);
  if (ptr != 0) heap.free(ptr);
  return status == Status.Ok;
}

/**
 * Removes every value of header `key` (lower-case UTF-8 bytes) on the current (or effective) stream.
 * Envoy clears the stream's route cache on any request-header change, so the router matches the
 * route again: call it only when there is something to remove.
 */
export function removeHeader(map: MapType, key: ArrayBuffer): bool {
  return imports.proxy_remove_header_map_value(map, changetype<usize>(key), key.byteLength) == Status.Ok;
}

/**
 * An Envoy property as UTF-8 text (strings arrive as their raw bytes), or null when absent. `path`
 * is the segments joined by NUL bytes, e.g. "node\0id".
 */
export function getProperty(path: string): string | null {
  const joined = String.UTF8.encode(path);
  clearOut();
  const status = imports.proxy_get_property(changetype<usize>(joined), joined.byteLength, OUT_PTR, OUT_LEN);
  return status == Status.Ok ? takeOutString() : null;
}

/** An Envoy property as the bytes the host serialized it to (a map comes as pairs), or null when absent. */
export function getPropertyBytes(path: string): ArrayBuffer | null {
  const joined = String.UTF8.encode(path);
  clearOut();
  const status = imports.proxy_get_property(changetype<usize>(joined), joined.byteLength, OUT_PTR, OUT_LEN);
  return status == Status.Ok ? takeOutBytes() : null;
}

/**
 * Sets property `path` of the current (or effective) stream; Envoy keeps it as filter state
 * `wasm.<path>`, which the access log prints with %FILTER_STATE(wasm.<path>:PLAIN)%.
 */
export function setProperty(path: ArrayBuffer, value: ArrayBuffer): bool {
  return (
    imports.proxy_set_property(
      changetype<usize>(path),
      path.byteLength,
      changetype<usize>(value),
      value.byteLength,
    ) == Status.Ok
  );
}

/** The first `size` bytes of a host buffer, left where the host wrote them; false when it has none. */
export function readBuffer(type: BufferType, size: usize, into: HostBlock): bool {
  clearOut();
  if (imports.proxy_get_buffer_bytes(type, 0, size, OUT_PTR, OUT_LEN) != Status.Ok) return false;
  into.take();
  return true;
}

/** The first `size` bytes of a host buffer, or null when the host has none in this callback. */
export function getBuffer(type: BufferType, size: usize): ArrayBuffer | null {
  clearOut();
  if (imports.proxy_get_buffer_bytes(type, 0, size, OUT_PTR, OUT_LEN) != Status.Ok) return null;
  return takeOutBytes();
}

/**
 * Replies locally instead of forwarding, on the current (or effective) stream. `headerPairs` is an
 * already serialized pairs map; all three buffers are prepared once per rule, not per request. With
 * a `grpcStatus` (not NO_GRPC_STATUS) Envoy answers a gRPC request trailers-only: `:status 200`,
 * that grpc-status, `body` as grpc-message; other requests get `status` and `body` as usual.
 */
export function sendLocalResponse(
  status: u32,
  details: ArrayBuffer,
  body: ArrayBuffer,
  headerPairs: ArrayBuffer,
  grpcStatus: i32,
): bool {
  return (
    imports.proxy_send_local_response(
      status,
      changetype<usize>(details),
      details.byteLength,
      changetype<usize>(body),
      body.byteLength,
      changetype<usize>(headerPairs),
      headerPairs.byteLength,
      grpcStatus,
    ) == Status.Ok
  );
}

/** Resumes the request of the current (or effective) stream; Envoy acts once the callback returns. */
export function continueRequest(): bool {
  return imports.proxy_continue_stream(StreamType.HttpRequest) == Status.Ok;
}

/**
 * Makes later hostcalls of this callback act on context `id`; false when the host no longer knows
 * it (the stream is gone), in which case nothing may be done on its behalf.
 */
export function setEffectiveContext(id: u32): bool {
  return imports.proxy_set_effective_context(id) == Status.Ok;
}

/** Starts an HTTP callout to an Envoy cluster, with a body if given; the token, or -1 when the host refused the call. */
export function httpCall(
  cluster: string,
  headers: string[],
  timeoutMs: u32,
  body: ArrayBuffer | null = null,
): i64 {
  const upstream = String.UTF8.encode(cluster);
  const pairs = serializePairs(headers);
  const status = imports.proxy_http_call(
    changetype<usize>(upstream),
    upstream.byteLength,
    changetype<usize>(pairs),
    pairs.byteLength,
    changetype<usize>(body),
    body != null ? <usize>body.byteLength : 0,
    0,
    0,
    timeoutMs,
    OUT_PTR,
  );
  return status == Status.Ok ? <i64>load<u32>(OUT_PTR) : -1;
}

/** Period of this root context's timer; 0 stops it. Envoy restarts the countdown on every call. */
export function setTickPeriod(periodMs: u32): void {
  imports.proxy_set_tick_period_milliseconds(periodMs);
}

/** A metric id, or u32.MAX_VALUE (which the host rejects harmlessly) when the host refused. */
export function defineMetric(type: MetricType, name: string): u32 {
  const bytes = String.UTF8.encode(name);
  if (imports.proxy_define_metric(type, changetype<usize>(bytes), bytes.byteLength, OUT_PTR) != Status.Ok) {
    return u32.MAX_VALUE;
  }
  return load<u32>(OUT_PTR);
}

export function incrementMetric(id: u32, delta: i64): void {
  imports.proxy_increment_metric(id, delta);
}

export function recordMetric(id: u32, value: u64): void {
  imports.proxy_record_metric(id, value);
}

/** Monotonic clock in nanoseconds, for deadlines. */
export function nowNs(): u64 {
  if (imports.clock_time_get(WasiClock.Monotonic, 1, OUT_U64) != 0) return 0;
  return load<u64>(OUT_U64);
}

/** Monotonic clock in milliseconds. */
export function nowMs(): u64 {
  return nowNs() / 1_000_000;
}

/** Wall clock in milliseconds since the epoch (rule expiry is wall-clock time), or 0 if refused. */
export function realtimeMs(): i64 {
  if (imports.clock_time_get(WasiClock.Realtime, 1_000_000, OUT_U64) != 0) return 0;
  return <i64>(load<u64>(OUT_U64) / 1_000_000);
}

/** 64 bits from the host's CSPRNG, or 0 if it refused. */
export function randomU64(): u64 {
  store<u64>(OUT_U64, 0);
  imports.random_get(OUT_U64, 8);
  return load<u64>(OUT_U64);
}
