/**
 * A small proxy-wasm ABI 0.2.1 host, modelled on what Envoy does (docs/PROXY_WASM_ABI.md, docs/FILTER.md),
 * that loads the compiled filter in Bun's WebAssembly and drives it deterministically: configure,
 * ticks (manual, or Envoy's timer simulated by `runFor`), HTTP-call responses, requests, pause and
 * resume, local responses, metrics, separate monotonic and wall clocks, and a seeded random source.
 * Every hostcall the module imports but this host lacks fails loudly when called; every hostcall is
 * counted.
 */
import { Action, BufferType, LogLevel, MapType, MetricType, Status, WasiClock } from "./enums.ts";
import { decodePairs, encodePairs, type HeaderPairs } from "./pairs.ts";

export interface HostOptions {
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

export interface HttpCall {
  token: number;
  cluster: string;
  headers: HeaderPairs;
  body: string;
  timeoutMs: number;
}

export interface LocalResponse {
  status: number;
  details: string;
  body: string;
  headers: HeaderPairs;
  grpcStatus: number;
}

export interface Stream {
  id: number;
  requestHeaders: HeaderPairs;
  /** What `proxy_on_request_headers` returned. */
  action: number;
  localResponse?: LocalResponse;
  /** Set when the filter called `proxy_continue_stream(HTTP_REQUEST)` for this stream. */
  continued: boolean;
  /** Monotonic time of the continue, or of the local response. */
  continuedAtNs?: bigint;
  localResponseAtNs?: bigint;
  /** Set by `finish`: the host no longer knows the context. */
  finished: boolean;
  /**
   * Filter state the module set with `proxy_set_property`, by Envoy's key (`wasm.<path>`, the name
   * `%FILTER_STATE(…)%` takes in an access log).
   */
  filterState: Map<string, string>;
}

export interface Metric {
  type: number;
  value: bigint;
  samples: bigint[];
}

type Exports = Record<string, (...args: number[]) => number | undefined> & { memory: WebAssembly.Memory };

const utf8 = new TextEncoder();
const text = new TextDecoder();
const ROOT_ID = 1;
const WASI_NOTSUP = 58;

export class ProxyWasmHost {
  readonly logs: { level: string; message: string }[] = [];
  readonly metrics = new Map<string, Metric>();
  /** Callouts dispatched and not answered yet. */
  readonly httpCalls: HttpCall[] = [];
  readonly streams = new Map<number, Stream>();
  tickPeriodMs = 0;
  /** Every `proxy_set_tick_period_milliseconds`: when (monotonic ns) and the period set. */
  readonly tickSets: { atNs: bigint; periodMs: number }[] = [];
  /** Monotonic clock the module sees (WASI clock 1), in ns; move it with `advance` or `runFor`. */
  nowNs = 1_000_000_000n;
  /** Wall clock (WASI clock 0, proxy_get_current_time_nanoseconds), ms since the epoch; independent. */
  realtimeMs = Date.UTC(2026, 0, 1);
  logLevel = 2;
  /** Hostcalls by name, with how often the module made them. */
  readonly calls = new Map<string, number>();
  /** `proxy_continue_stream` / `proxy_send_local_response` made while no live stream was effective. */
  readonly strayCalls: string[] = [];

  #exports!: Exports;
  #metricIds: string[] = [];
  #nextContextId = ROOT_ID + 1;
  #nextToken = 1;
  #effective = 0;
  /** When Envoy's timer countdown last started: a set, or the end of a tick (Envoy re-arms then). */
  #armedAtNs = 0n;
  #buffers = new Map<number, Uint8Array>();
  #callResponseHeaders: HeaderPairs = [];
  #randomState: number;

  private constructor(private readonly options: HostOptions) {
    this.#randomState = options.randomSeed ?? 0x9e3779b9;
  }

  static async load(wasm: string | Uint8Array, options: HostOptions): Promise<ProxyWasmHost> {
    const bytes = typeof wasm === "string" ? new Uint8Array(await Bun.file(wasm).arrayBuffer()) : wasm;
    const host = new ProxyWasmHost(options);
    const module = new WebAssembly.Module(bytes);
    const instance = new WebAssembly.Instance(
      module,
      host.#imports(module) as ConstructorParameters<typeof WebAssembly.Instance>[1],
    );
    host.#exports = instance.exports as unknown as Exports;
    host.#exports._initialize?.();
    return host;
  }

  /** Envoy's start sequence for one worker: root context, vm_start, configure. Returns on_configure's verdict. */
  start(): boolean {
    this.#call("proxy_on_context_create", ROOT_ID, 0);
    this.#buffers.set(BufferType.VmConfiguration, utf8.encode(this.options.vmConfig ?? ""));
    const started = this.#call(
      "proxy_on_vm_start",
      ROOT_ID,
      this.#buffers.get(BufferType.VmConfiguration)!.length,
    );
    this.#buffers.delete(BufferType.VmConfiguration);
    if (!started) return false;
    const config = utf8.encode(this.options.pluginConfig);
    this.#buffers.set(BufferType.PluginConfiguration, config);
    try {
      return this.#call("proxy_on_configure", ROOT_ID, config.length) === 1;
    } finally {
      this.#buffers.delete(BufferType.PluginConfiguration);
    }
  }

  /** One on_tick now; afterwards the timer re-arms with the period then in force, as Envoy does. */
  tick(): void {
    this.#call("proxy_on_tick", ROOT_ID);
    this.#armedAtNs = this.nowNs;
  }

  /** Moves the monotonic clock without firing the timer. */
  advance(ms: number): void {
    this.nowNs += BigInt(Math.round(ms * 1_000_000));
  }

  /** When the armed timer fires next (monotonic ns), or undefined when it is off. */
  get nextTickAtNs(): bigint | undefined {
    return this.tickPeriodMs > 0 ? this.#armedAtNs + BigInt(this.tickPeriodMs) * 1_000_000n : undefined;
  }

  /** Moves the monotonic clock by `ms`, firing on_tick each time Envoy's timer would. */
  runFor(ms: number): void {
    const end = this.nowNs + BigInt(Math.round(ms * 1_000_000));
    for (let due = this.nextTickAtNs; due !== undefined && due <= end; due = this.nextTickAtNs) {
      this.nowNs = due;
      this.tick();
    }
    this.nowNs = end;
  }

  /** Bytes of the module's linear memory (it only grows). */
  get memoryBytes(): number {
    return this.#exports.memory.buffer.byteLength;
  }

  count(hostcall: string): number {
    return this.calls.get(hostcall) ?? 0;
  }

  /** Answers a pending callout; `status: null` simulates a reset (Envoy passes zero headers). */
  respond(token: number, response: { status: number | null; body?: string; headers?: HeaderPairs }): void {
    const index = this.httpCalls.findIndex((c) => c.token === token);
    if (index < 0) throw new Error(`no pending http call with token ${token}`);
    this.httpCalls.splice(index, 1);
    const body = utf8.encode(response.body ?? "");
    this.#callResponseHeaders =
      response.status === null ? [] : [[":status", String(response.status)], ...(response.headers ?? [])];
    this.#buffers.set(BufferType.HttpCallResponseBody, body);
    try {
      this.#call(
        "proxy_on_http_call_response",
        ROOT_ID,
        token,
        this.#callResponseHeaders.length,
        body.length,
        0,
      );
    } finally {
      this.#callResponseHeaders = [];
      this.#buffers.delete(BufferType.HttpCallResponseBody);
    }
  }

  /** A request's headers arrive: creates the stream context and runs `proxy_on_request_headers`. */
  request(headers: HeaderPairs, endOfStream = true): Stream {
    const id = this.#nextContextId++;
    const stream: Stream = {
      id,
      requestHeaders: headers,
      action: Action.Continue,
      continued: false,
      finished: false,
      filterState: new Map(),
    };
    this.streams.set(id, stream);
    this.#call("proxy_on_context_create", id, ROOT_ID);
    stream.action = this.#call("proxy_on_request_headers", id, headers.length, endOfStream ? 1 : 0) ?? 0;
    return stream;
  }

  /**
   * The stream ends (normally, or by a client reset — also mid-delay): Envoy's log → done → delete
   * sequence, after which the context is unknown to the host (set_effective_context fails).
   */
  finish(stream: Stream): void {
    this.#call("proxy_on_log", stream.id);
    this.#call("proxy_on_done", stream.id);
    this.#call("proxy_on_delete", stream.id);
    this.streams.delete(stream.id);
    stream.finished = true;
  }

  /** The host forgets a stream without telling the module (never seen from Envoy; a defensive case). */
  forget(stream: Stream): void {
    this.streams.delete(stream.id);
    stream.finished = true;
  }

  /** The plugin goes away (Envoy shutdown or config replaced): on_done then on_delete for the root context. */
  shutdown(): void {
    this.#call("proxy_on_done", ROOT_ID);
    this.#call("proxy_on_delete", ROOT_ID);
  }

  metric(name: string): Metric | undefined {
    return this.metrics.get(name);
  }

  #call(name: string, ...args: number[]): number | undefined {
    const fn = this.#exports[name];
    if (!fn) return undefined;
    const saved = this.#effective;
    this.#effective = args[0] ?? 0;
    try {
      return fn(...args);
    } finally {
      this.#effective = saved;
    }
  }

  #bytes(): Uint8Array {
    return new Uint8Array(this.#exports.memory.buffer);
  }

  #view(): DataView {
    return new DataView(this.#exports.memory.buffer);
  }

  #read(ptr: number, len: number): Uint8Array {
    return this.#bytes().slice(ptr, ptr + len);
  }

  #readString(ptr: number, len: number): string {
    return text.decode(this.#read(ptr, len));
  }

  /** Hands bytes to the module the way the host does: allocate through the module, write ptr and len. */
  #copyOut(data: Uint8Array, ptrPtr: number, lenPtr: number): number {
    let ptr = 0;
    if (data.length > 0) {
      const alloc = this.#exports.malloc ?? this.#exports.proxy_on_memory_allocate;
      ptr = alloc!(data.length) ?? 0;
      if (ptr === 0) return Status.InvalidMemoryAccess;
      this.#bytes().set(data, ptr);
    }
    this.#view().setUint32(ptrPtr, ptr, true);
    this.#view().setUint32(lenPtr, data.length, true);
    return Status.Ok;
  }

  #stream(): Stream | undefined {
    return this.streams.get(this.#effective);
  }

  #headerMap(mapType: number): HeaderPairs | undefined {
    if (mapType === MapType.RequestHeaders) return this.#stream()?.requestHeaders;
    if (mapType === MapType.HttpCallResponseHeaders) return this.#callResponseHeaders;
    return undefined;
  }

  /**
   * A header map the module may change. Envoy keeps the request header map only until the stream
   * continues: afterwards a write fails with BadArgument.
   */
  #writableHeaderMap(mapType: number): HeaderPairs | undefined {
    if (mapType !== MapType.RequestHeaders) return undefined;
    const stream = this.#stream();
    if (!stream || stream.continued) return undefined;
    return stream.requestHeaders;
  }

  #nextRandomByte(): number {
    // xorshift32: deterministic for a given seed, good enough to spread samples.
    let x = this.#randomState;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#randomState = x >>> 0;
    return this.#randomState & 0xff;
  }

  #imports(module: WebAssembly.Module): Record<string, Record<string, unknown>> {
    const impl: Record<string, (...args: never[]) => number | undefined> = {
      proxy_log: (level: number, ptr: number, len: number) => {
        this.logs.push({ level: LogLevel[level] ?? String(level), message: this.#readString(ptr, len) });
        return Status.Ok;
      },
      proxy_get_log_level: (out: number) => {
        this.#view().setUint32(out, this.logLevel, true);
        return Status.Ok;
      },
      proxy_get_buffer_bytes: (type: number, start: number, max: number, ptrPtr: number, lenPtr: number) => {
        const buffer = this.#buffers.get(type);
        if (!buffer) return Status.NotFound;
        return this.#copyOut(buffer.subarray(start, start + max), ptrPtr, lenPtr);
      },
      proxy_get_buffer_status: (type: number, lenPtr: number, flagsPtr: number) => {
        const buffer = this.#buffers.get(type);
        if (!buffer) return Status.NotFound;
        this.#view().setUint32(lenPtr, buffer.length, true);
        this.#view().setUint32(flagsPtr, 0, true);
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
        const key = this.#readString(kPtr, kLen).toLowerCase();
        const found = pairs.find(([k]) => k.toLowerCase() === key);
        return found ? this.#copyOut(utf8.encode(found[1]), ptrPtr, lenPtr) : Status.NotFound;
      },
      proxy_get_header_map_pairs: (map: number, ptrPtr: number, lenPtr: number) => {
        const pairs = this.#headerMap(map);
        if (!pairs) return Status.BadArgument;
        // Envoy hands header names over lower-cased, repeated headers as separate pairs.
        const lower: HeaderPairs = pairs.map(([k, v]) => [k.toLowerCase(), v]);
        return this.#copyOut(pairs.length ? encodePairs(lower) : new Uint8Array(), ptrPtr, lenPtr);
      },
      proxy_add_header_map_value: (map: number, kPtr: number, kLen: number, vPtr: number, vLen: number) => {
        const pairs = this.#writableHeaderMap(map);
        if (!pairs) return Status.BadArgument;
        pairs.push([this.#readString(kPtr, kLen).toLowerCase(), this.#readString(vPtr, vLen)]);
        return Status.Ok;
      },
      proxy_replace_header_map_value: (
        map: number,
        kPtr: number,
        kLen: number,
        vPtr: number,
        vLen: number,
      ) => {
        const pairs = this.#writableHeaderMap(map);
        if (!pairs) return Status.BadArgument;
        // Envoy's setCopy: every value of the header goes, one takes its place.
        const key = this.#readString(kPtr, kLen).toLowerCase();
        const kept = pairs.filter(([k]) => k.toLowerCase() !== key);
        pairs.splice(0, pairs.length, ...kept, [key, this.#readString(vPtr, vLen)]);
        return Status.Ok;
      },
      proxy_remove_header_map_value: (map: number, kPtr: number, kLen: number) => {
        const pairs = this.#writableHeaderMap(map);
        if (!pairs) return Status.BadArgument;
        // Envoy's remove: every value of the header goes; an absent header is no error.
        const key = this.#readString(kPtr, kLen).toLowerCase();
        const kept = pairs.filter(([k]) => k.toLowerCase() !== key);
        pairs.splice(0, pairs.length, ...kept);
        return Status.Ok;
      },
      proxy_set_property: (pPtr: number, pLen: number, vPtr: number, vLen: number) => {
        // Envoy keeps it in the stream's filter state as `wasm.<path>`; a root context has no stream.
        const stream = this.#stream();
        if (!stream) return Status.NotFound;
        stream.filterState.set(`wasm.${this.#readString(pPtr, pLen)}`, this.#readString(vPtr, vLen));
        return Status.Ok;
      },
      proxy_send_local_response: (
        status: number,
        dPtr: number,
        dLen: number,
        bPtr: number,
        bLen: number,
        hPtr: number,
        hLen: number,
        grpcStatus: number,
      ) => {
        const stream = this.#stream();
        if (!stream) {
          this.strayCalls.push(`proxy_send_local_response on context ${this.#effective}`);
          return Status.NotFound;
        }
        stream.localResponseAtNs = this.nowNs;
        stream.localResponse = {
          status,
          details: this.#readString(dPtr, dLen),
          body: this.#readString(bPtr, bLen),
          headers: hLen ? decodePairs(this.#read(hPtr, hLen)) : [],
          grpcStatus,
        };
        return Status.Ok;
      },
      proxy_continue_stream: (streamType: number) => {
        const stream = this.#stream();
        if (streamType > 3) return Status.BadArgument;
        if (!stream) {
          this.strayCalls.push(`proxy_continue_stream on context ${this.#effective}`);
        } else if (streamType === 0) {
          stream.continued = true;
          stream.continuedAtNs = this.nowNs;
        }
        return Status.Ok;
      },
      proxy_set_effective_context: (id: number) => {
        if (id !== ROOT_ID && !this.streams.has(id)) return Status.BadArgument;
        this.#effective = id;
        return Status.Ok;
      },
      proxy_set_tick_period_milliseconds: (ms: number) => {
        // Envoy re-creates the timer on every call: the countdown restarts even for the same period.
        this.tickPeriodMs = ms;
        this.#armedAtNs = this.nowNs;
        this.tickSets.push({ atNs: this.nowNs, periodMs: ms });
        return Status.Ok;
      },
      proxy_http_call: (
        uPtr: number,
        uLen: number,
        hPtr: number,
        hLen: number,
        bPtr: number,
        bLen: number,
        _tPtr: number,
        _tLen: number,
        timeoutMs: number,
        tokenPtr: number,
      ) => {
        const headers = decodePairs(this.#read(hPtr, hLen));
        const has = (name: string) => headers.some(([k]) => k === name);
        if (!has(":method") || !has(":path") || !has(":authority")) return Status.BadArgument;
        const token = this.#nextToken++;
        const cluster = this.#readString(uPtr, uLen);
        this.httpCalls.push({ token, cluster, headers, body: this.#readString(bPtr, bLen), timeoutMs });
        this.#view().setUint32(tokenPtr, token, true);
        return Status.Ok;
      },
      proxy_define_metric: (type: number, nPtr: number, nLen: number, idPtr: number) => {
        if (type > MetricType.Histogram) return Status.BadArgument;
        const name = this.#readString(nPtr, nLen);
        let id = this.#metricIds.indexOf(name);
        if (id < 0) {
          id = this.#metricIds.push(name) - 1;
          this.metrics.set(name, { type, value: 0n, samples: [] });
        }
        this.#view().setUint32(idPtr, id, true);
        return Status.Ok;
      },
      proxy_increment_metric: (id: number, delta: bigint) => {
        const metric = this.metrics.get(this.#metricIds[id] ?? "");
        if (!metric || metric.type === MetricType.Histogram) return Status.BadArgument;
        if (metric.type === MetricType.Counter && delta <= 0n) return Status.BadArgument;
        metric.value += delta;
        return Status.Ok;
      },
      proxy_record_metric: (id: number, value: bigint) => {
        const metric = this.metrics.get(this.#metricIds[id] ?? "");
        if (!metric) return Status.BadArgument;
        if (metric.type === MetricType.Histogram) metric.samples.push(value);
        else metric.value = metric.type === MetricType.Counter ? metric.value + value : value;
        return Status.Ok;
      },
      proxy_get_metric: (id: number, out: number) => {
        const metric = this.metrics.get(this.#metricIds[id] ?? "");
        if (!metric || metric.type === MetricType.Histogram) return Status.BadArgument;
        this.#view().setBigUint64(out, metric.value, true);
        return Status.Ok;
      },
      proxy_get_property: (pPtr: number, pLen: number, ptrPtr: number, lenPtr: number) => {
        const path = this.#readString(pPtr, pLen).replace(/\0+$/, "").split("\0").join(".");
        const value = this.options.properties?.[path];
        if (value === undefined) return Status.NotFound;
        const bytes = typeof value === "string" ? utf8.encode(value) : encodePairs(Object.entries(value));
        return this.#copyOut(bytes, ptrPtr, lenPtr);
      },
      proxy_get_current_time_nanoseconds: (out: number) => {
        this.#view().setBigUint64(out, BigInt(this.realtimeMs) * 1_000_000n, true);
        return Status.Ok;
      },
      clock_time_get: (id: number, _precision: bigint, out: number) => {
        if (id === WasiClock.Realtime) {
          this.#view().setBigUint64(out, BigInt(this.realtimeMs) * 1_000_000n, true);
        } else if (id === WasiClock.Monotonic) {
          this.#view().setBigUint64(out, this.nowNs, true);
        } else {
          return WASI_NOTSUP;
        }
        return 0;
      },
      random_get: (ptr: number, len: number) => {
        const bytes = this.#bytes();
        for (let i = 0; i < len; i++) bytes[ptr + i] = this.#nextRandomByte();
        return 0;
      },
      fd_write: (fd: number, iovs: number, iovsLen: number, nwritten: number) => {
        let written = 0;
        for (let i = 0; i < iovsLen; i++) {
          const ptr = this.#view().getUint32(iovs + i * 8, true);
          const len = this.#view().getUint32(iovs + i * 8 + 4, true);
          this.logs.push({ level: fd === 2 ? "error" : "info", message: this.#readString(ptr, len) });
          written += len;
        }
        this.#view().setUint32(nwritten, written, true);
        return 0;
      },
    };
    const imports: Record<string, Record<string, unknown>> = {};
    for (const { module: mod, name } of WebAssembly.Module.imports(module)) {
      imports[mod] ??= {};
      const fn = impl[name];
      imports[mod][name] = fn
        ? (...args: never[]) => {
            this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
            return fn(...args);
          }
        : () => {
            throw new Error(`hostcall ${mod}.${name} is not implemented by the test host`);
          };
    }
    return imports;
  }
}
