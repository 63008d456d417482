export { Action, MetricType } from "./enums.ts";
export { type HttpCall, type LocalResponse, ProxyWasmHost, type Stream } from "./host.ts";
export { decodePairs, encodePairs, type HeaderPairs } from "./pairs.ts";
