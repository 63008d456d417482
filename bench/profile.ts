/**
 * Where a request's time goes inside the filter, measured without Envoy: the compiled module runs in
 * the project's TypeScript proxy-wasm host (test/proxy-wasm-host), which counts every hostcall. Per
 * request this gives the VM crossings (callbacks into the module, hostcalls out of it, host-driven
 * allocations) and the module's own time per request under Bun's engine (JSC, not Envoy's V8: the
 * absolute ns are indicative, the ratio between rule counts is what matters).
 */
import { RULESET_FORMAT, type Rule } from "../src/ruleset/format.ts";
import { type HeaderPairs, ProxyWasmHost } from "../test/proxy-wasm-host/index.ts";

/** Roughly what Envoy hands the filter for wrk's `GET /api/items` (wrk sends only Host). */
export const WRK_REQUEST: HeaderPairs = [
  [":authority", "127.0.0.1:10000"],
  [":path", "/api/items"],
  [":method", "GET"],
  [":scheme", "http"],
  ["x-forwarded-proto", "http"],
  ["x-request-id", "5c0a2b8e-2d3c-4f0e-9a55-0c1f9e2b7d41"],
];

/** Callbacks Envoy makes into the module for every request (the exported ones of these). */
const PER_REQUEST_CALLBACKS = [
  "proxy_on_context_create",
  "proxy_on_request_headers",
  "proxy_on_response_headers",
  "proxy_on_done",
  "proxy_on_delete",
];

const HANDING_BYTES = ["proxy_get_header_map_value", "proxy_get_header_map_pairs", "proxy_get_buffer_bytes"];

export interface FilterProfile {
  rules: number;
  /** Hostcalls the module made during one request, by name. */
  hostcalls: Record<string, number>;
  hostcallTotal: number;
  /** Per-request callbacks Envoy calls into the module (those the module exports). */
  callbacks: string[];
  /** Calls of proxy_on_memory_allocate the host makes to hand those bytes over. */
  hostAllocations: number;
  /** Module + test-host time per request (create, headers, log, done, delete), ns, under JSC. */
  nsPerRequest: number;
}

export async function profileFilter(
  wasm: Uint8Array,
  rules: Rule[],
  iterations = 20_000,
): Promise<FilterProfile> {
  const host = await ProxyWasmHost.load(wasm, {
    pluginConfig: JSON.stringify({ cluster: "cp", authority: "cp", pollWaitSeconds: 25 }),
  });
  if (!host.start()) throw new Error("filter refused its configuration");
  for (let i = 0; i < 500 && host.httpCalls.length === 0; i++) {
    host.advance(host.tickPeriodMs || 10);
    host.tick();
  }
  const poll = host.httpCalls[0];
  if (!poll) throw new Error("filter did not poll");
  host.respond(poll.token, {
    status: 200,
    body: JSON.stringify({ format: RULESET_FORMAT, revision: 1, rules }),
  });

  const before = new Map(host.calls);
  const stream = host.request(WRK_REQUEST);
  host.finish(stream);
  if (stream.localResponse) throw new Error("the profiling request was faulted: rules are not non-matching");
  const hostcalls: Record<string, number> = {};
  for (const [name, n] of host.calls) {
    const d = n - (before.get(name) ?? 0);
    if (d > 0) hostcalls[name] = d;
  }
  // Each hostcall that hands bytes over makes the host call the module's allocator once.
  const hostAllocations = HANDING_BYTES.reduce((sum, name) => sum + (hostcalls[name] ?? 0), 0);

  for (let i = 0; i < 2000; i++) host.finish(host.request(WRK_REQUEST));
  const start = Bun.nanoseconds();
  for (let i = 0; i < iterations; i++) host.finish(host.request(WRK_REQUEST));
  const nsPerRequest = (Bun.nanoseconds() - start) / iterations;

  const exported = new Set(WebAssembly.Module.exports(new WebAssembly.Module(wasm)).map((e) => e.name));
  return {
    rules: rules.length,
    hostcalls,
    hostcallTotal: Object.values(hostcalls).reduce((a, b) => a + b, 0),
    callbacks: PER_REQUEST_CALLBACKS.filter((name) => exported.has(name)),
    hostAllocations,
    nsPerRequest: Math.round(nsPerRequest),
  };
}
