/** Wire integers of proxy-wasm ABI 0.2.1 as Envoy uses them (docs/PROXY_WASM_ABI.md, "Wire integers the filter uses"). */
export const Status = { Ok: 0, NotFound: 1, BadArgument: 2, InvalidMemoryAccess: 6 } as const;
export const MapType = { RequestHeaders: 0, ResponseHeaders: 2, HttpCallResponseHeaders: 6 } as const;
export const BufferType = { HttpCallResponseBody: 4, VmConfiguration: 6, PluginConfiguration: 7 } as const;
export const MetricType = { Counter: 0, Gauge: 1, Histogram: 2 } as const;
export const Action = { Continue: 0, Pause: 1 } as const;
export const LogLevel = ["trace", "debug", "info", "warn", "error", "critical"] as const;
export const WasiClock = { Realtime: 0, Monotonic: 1 } as const;
