/** Wire integers of proxy-wasm ABI 0.2.1 as Envoy uses them (docs/PROXY_WASM_ABI.md, "Wire integers the filter uses"). */
export const Status = { Ok: 0, NotFound: 1, BadArgument: 2, InvalidMemoryAccess: 6 } as const;
export const MapType = {
  RequestHeaders: 0,
  RequestTrailers: 1,
  ResponseHeaders: 2,
  ResponseTrailers: 3,
  HttpCallResponseHeaders: 6,
} as const;
export const BufferType = {
  HttpRequestBody: 0,
  HttpResponseBody: 1,
  HttpCallResponseBody: 4,
  VmConfiguration: 6,
  PluginConfiguration: 7,
} as const;
export const StreamType = { Request: 0, Response: 1 } as const;
export const MetricType = { Counter: 0, Gauge: 1, Histogram: 2 } as const;
/** What on_*_headers returns (FilterHeadersStatus). */
export const Action = { Continue: 0, Pause: 1 } as const;
/** What on_*_body returns (FilterDataStatus). */
export const DataAction = {
  Continue: 0,
  StopIterationAndBuffer: 1,
  StopIterationAndWatermark: 2,
  StopIterationNoBuffer: 3,
} as const;
export const LogLevel = ["trace", "debug", "info", "warn", "error", "critical"] as const;
export const WasiClock = { Realtime: 0, Monotonic: 1 } as const;
