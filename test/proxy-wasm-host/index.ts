export { Action, DataAction, MetricType } from "./enums.ts";
export { type HttpCall, type LocalResponse, type Metric, ProxyWasmHost, type Stream } from "./host.ts";
export { decodePairs, encodePairs, type HeaderPairs } from "./pairs.ts";
export type { BodyFlow } from "./stream.ts";
