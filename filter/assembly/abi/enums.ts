/** Wire integers of proxy-wasm ABI 0.2.1 that the filter uses (docs/PROXY_WASM_ABI.md, "Wire integers"). */

export const enum Status {
  Ok = 0,
  NotFound = 1,
}

export const enum LogLevel {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
  Critical = 5,
}

/** FilterHeadersStatus as Envoy reads the result of on_*_headers. */
export const enum HeadersAction {
  Continue = 0,
  Pause = 1,
}

/** FilterDataStatus as Envoy reads the result of on_*_body. */
export const enum DataAction {
  Continue = 0,
  StopIterationAndBuffer = 1,
  StopIterationAndWatermark = 2,
}

export const enum BufferType {
  HttpRequestBody = 0,
  HttpResponseBody = 1,
  HttpCallResponseBody = 4,
  PluginConfiguration = 7,
}

export const enum MapType {
  HttpRequestHeaders = 0,
  HttpResponseHeaders = 2,
  HttpCallResponseHeaders = 6,
}

export const enum StreamType {
  HttpRequest = 0,
  HttpResponse = 1,
}

export const enum MetricType {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}

export const enum WasiClock {
  Realtime = 0,
  Monotonic = 1,
}

/** grpc_status value that tells Envoy "not a gRPC reply". */
export const NO_GRPC_STATUS: i32 = -1;
