/**
 * A small proxy-wasm ABI 0.2.1 host, modelled on what Envoy does (docs/PROXY_WASM_ABI.md, docs/FILTER.md),
 * that loads the compiled filter in Bun's WebAssembly and drives it deterministically: configure,
 * ticks (manual, or Envoy's timer simulated by `runFor`), HTTP-call responses, requests with their
 * bodies, responses, pause and resume, local responses, metrics, separate monotonic and wall clocks,
 * and a seeded random source. Every hostcall the module imports but this host lacks fails loudly when
 * called; every hostcall is counted. Cut by concern: vm.ts (module, memory, context-free hostcalls),
 * root.ts (start, timer, callouts), stream.ts (HTTP streams); this file puts them together.
 */
import { Status } from "./enums.ts";
import { encodePairs, type HeaderPairs } from "./pairs.ts";
import { type HttpCall, ROOT_ID, RootContext } from "./root.ts";
import { HttpStreams, type LocalResponse, type Stream, type StreamOptions } from "./stream.ts";
import { type Metric, type VmEnvironment, vmHostcalls, WasmVm } from "./vm.ts";

export type { HttpCall, LocalResponse, Metric, Stream };

export interface HostOptions extends StreamOptions {
  /** Plugin configuration as Envoy hands it over (the StringValue's bytes). */
  pluginConfig: string;
  vmConfig?: string;
  /** Seed of the deterministic byte source behind `random_get`. */
  randomSeed?: number;
  /**
   * Envoy properties by path (segments joined with "."), e.g. `{"xds.node.id": "sidecar~1"}`; a
   * string map is served as pairs, as Envoy 1.40 serves `xds.node.metadata.LABELS`.
   */
  properties?: Record<string, string | Record<string, string>>;
}

export class ProxyWasmHost {
  readonly #vm = new WasmVm();
  readonly #env: VmEnvironment;
  readonly #root: RootContext;
  readonly #streams: HttpStreams;

  private constructor(private readonly options: HostOptions) {
    let randomState = options.randomSeed ?? 0x9e3779b9;
    this.#env = {
      logs: [],
      logLevel: 2,
      metrics: new Map(),
      metricIds: [],
      nowNs: 1_000_000_000n,
      realtimeMs: Date.UTC(2026, 0, 1),
      properties: options.properties,
      nextRandomByte: () => {
        // xorshift32: deterministic for a given seed, good enough to spread samples.
        let x = randomState;
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        randomState = x >>> 0;
        return randomState & 0xff;
      },
    };
    this.#root = new RootContext(this.#vm, this.#env);
    this.#streams = new HttpStreams(this.#vm, this.#env, ROOT_ID, options);
  }

  static async load(wasm: string | Uint8Array, options: HostOptions): Promise<ProxyWasmHost> {
    const bytes = typeof wasm === "string" ? new Uint8Array(await Bun.file(wasm).arrayBuffer()) : wasm;
    const host = new ProxyWasmHost(options);
    host.#vm.instantiate(bytes, {
      ...vmHostcalls(host.#vm, host.#env),
      ...host.#root.hostcalls(),
      ...host.#streams.hostcalls(),
      ...host.#sharedHostcalls(),
    });
    return host;
  }

  get logs() {
    return this.#env.logs;
  }
  get metrics(): Map<string, Metric> {
    return this.#env.metrics;
  }
  get logLevel(): number {
    return this.#env.logLevel;
  }
  set logLevel(level: number) {
    this.#env.logLevel = level;
  }
  /** Monotonic clock the module sees (WASI clock 1), in ns; move it with `advance` or `runFor`. */
  get nowNs(): bigint {
    return this.#env.nowNs;
  }
  set nowNs(ns: bigint) {
    this.#env.nowNs = ns;
  }
  /** Wall clock (WASI clock 0, proxy_get_current_time_nanoseconds), ms since the epoch; independent. */
  get realtimeMs(): number {
    return this.#env.realtimeMs;
  }
  set realtimeMs(ms: number) {
    this.#env.realtimeMs = ms;
  }
  /** Hostcalls by name, with how often the module made them. */
  get calls(): Map<string, number> {
    return this.#vm.calls;
  }
  /** Bytes of the module's linear memory (it only grows). */
  get memoryBytes(): number {
    return this.#vm.memoryBytes;
  }
  /** Callouts dispatched and not answered yet. */
  get httpCalls(): HttpCall[] {
    return this.#root.httpCalls;
  }
  get tickPeriodMs(): number {
    return this.#root.tickPeriodMs;
  }
  get tickSets() {
    return this.#root.tickSets;
  }
  /** When the armed timer fires next (monotonic ns), or undefined when it is off. */
  get nextTickAtNs(): bigint | undefined {
    return this.#root.nextTickAtNs;
  }
  get streams(): Map<number, Stream> {
    return this.#streams.streams;
  }
  /** `proxy_continue_stream` / `proxy_send_local_response` made while no live stream was effective. */
  get strayCalls(): string[] {
    return this.#streams.strayCalls;
  }

  count(hostcall: string): number {
    return this.calls.get(hostcall) ?? 0;
  }

  metric(name: string): Metric | undefined {
    return this.metrics.get(name);
  }

  /** Envoy's start sequence for one worker: root context, vm_start, configure. Returns on_configure's verdict. */
  start(): boolean {
    return this.#root.start(this.options.vmConfig ?? "", this.options.pluginConfig);
  }

  /** One on_tick now; afterwards the timer re-arms with the period then in force, as Envoy does. */
  tick(): void {
    this.#root.tick();
  }

  /** Moves the monotonic clock without firing the timer. */
  advance(ms: number): void {
    this.#env.nowNs += BigInt(Math.round(ms * 1_000_000));
  }

  /** Moves the monotonic clock by `ms`, firing on_tick each time Envoy's timer would. */
  runFor(ms: number): void {
    this.#root.runFor(ms);
  }

  /** Answers a pending callout; `status: null` simulates a reset (Envoy passes zero headers). */
  respond(token: number, response: { status: number | null; body?: string; headers?: HeaderPairs }): void {
    this.#root.respond(token, response);
  }

  /** The plugin goes away (Envoy shutdown or config replaced): on_done then on_delete for the root context. */
  shutdown(): void {
    this.#root.shutdown();
  }

  /** A request's headers arrive: creates the stream context and runs `proxy_on_request_headers`. */
  request(headers: HeaderPairs, endOfStream = true): Stream {
    return this.#streams.request(headers, endOfStream);
  }

  /** A chunk of the request body arrives (Envoy's buffering: stream.ts). */
  requestBody(stream: Stream, chunk: string | Uint8Array, endOfStream: boolean): void {
    this.#streams.requestBody(stream, chunk, endOfStream);
  }

  /** The upstream's response headers arrive. */
  responseHeaders(stream: Stream, headers: HeaderPairs, endOfStream = false): void {
    this.#streams.responseHeaders(stream, headers, endOfStream);
  }

  /** A chunk of the response body arrives. */
  responseBody(stream: Stream, chunk: string | Uint8Array, endOfStream: boolean): void {
    this.#streams.responseBody(stream, chunk, endOfStream);
  }

  /** The upstream's whole response: headers, then the chunks, the last one ending the stream. */
  respondToStream(stream: Stream, headers: HeaderPairs, chunks: (string | Uint8Array)[] = []): void {
    this.#streams.respondToStream(stream, headers, chunks);
  }

  /**
   * The stream ends: Envoy's log → done → delete sequence. `status`: the upstream's, for a stream
   * whose response headers were not delivered with `responseHeaders`.
   */
  finish(stream: Stream, status?: number): void {
    this.#streams.finish(stream, status);
  }

  /** The host forgets a stream without telling the module (never seen from Envoy; a defensive case). */
  forget(stream: Stream): void {
    this.#streams.forget(stream);
  }

  #buffer(type: number): Uint8Array | undefined {
    return this.#root.buffer(type) ?? this.#streams.buffer(type);
  }

  #headerMap(type: number): HeaderPairs | undefined {
    return this.#root.headerMap(type) ?? this.#streams.headerMap(type);
  }

  /** Reads of buffers and header maps, which belong to the root or to a stream by their type. */
  #sharedHostcalls() {
    const vm = this.#vm;
    const utf8 = new TextEncoder();
    return {
      proxy_get_buffer_bytes: (type: number, start: number, max: number, ptrPtr: number, lenPtr: number) => {
        const buffer = this.#buffer(type);
        if (!buffer) return Status.NotFound;
        return vm.copyOut(buffer.subarray(start, start + max), ptrPtr, lenPtr);
      },
      proxy_get_buffer_status: (type: number, lenPtr: number, flagsPtr: number) => {
        const buffer = this.#buffer(type);
        if (!buffer) return Status.NotFound;
        vm.view().setUint32(lenPtr, buffer.length, true);
        vm.view().setUint32(flagsPtr, 0, true);
        return Status.Ok;
      },
      proxy_get_header_map_value: (
        map: number,
        kPtr: number,
        kLen: number,
        ptrPtr: number,
        lenPtr: number,
      ) => {
        const pairs = this.#headerMap(map);
        if (!pairs) return Status.BadArgument;
        const key = vm.readString(kPtr, kLen).toLowerCase();
        const found = pairs.find(([k]) => k.toLowerCase() === key);
        return found ? vm.copyOut(utf8.encode(found[1]), ptrPtr, lenPtr) : Status.NotFound;
      },
      proxy_get_header_map_pairs: (map: number, ptrPtr: number, lenPtr: number) => {
        const pairs = this.#headerMap(map);
        if (!pairs) return Status.BadArgument;
        // Envoy hands header names over lower-cased, repeated headers as separate pairs.
        const lower: HeaderPairs = pairs.map(([k, v]) => [k.toLowerCase(), v]);
        return vm.copyOut(pairs.length ? encodePairs(lower) : new Uint8Array(), ptrPtr, lenPtr);
      },
    };
  }
}
