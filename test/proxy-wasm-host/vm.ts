/**
 * The VM side of the test host: the instantiated module, its memory, the call into an export with
 * the effective context set as Envoy does, hostcall counting, and the hostcalls that belong to no
 * context: logs, metrics, clocks, randomness, properties, stdout.
 */
import { LogLevel, MetricType, Status, WasiClock } from "./enums.ts";
import { encodePairs } from "./pairs.ts";

export type Hostcall = (...args: never[]) => number | undefined;
export type Hostcalls = Record<string, Hostcall>;
type Exports = Record<string, (...args: number[]) => number | undefined> & { memory: WebAssembly.Memory };

export interface Metric {
  type: number;
  value: bigint;
  samples: bigint[];
}

const utf8 = new TextEncoder();
const text = new TextDecoder();
const WASI_NOTSUP = 58;

export class WasmVm {
  /** Hostcalls by name, with how often the module made them. */
  readonly calls = new Map<string, number>();
  /** The context the module's hostcalls act on: the callee of the current call, or set by the module. */
  effective = 0;
  #exports!: Exports;
  #depth = 0;
  #afterCall: (() => void)[] = [];

  /** Instantiates the module with `hostcalls`; an import it lacks fails loudly when called. */
  instantiate(bytes: Uint8Array, hostcalls: Hostcalls): void {
    const module = new WebAssembly.Module(bytes);
    const imports: Record<string, Record<string, unknown>> = {};
    for (const { module: mod, name } of WebAssembly.Module.imports(module)) {
      imports[mod] ??= {};
      const fn = hostcalls[name];
      imports[mod][name] = fn
        ? (...args: never[]) => {
            this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
            return fn(...args);
          }
        : () => {
            throw new Error(`hostcall ${mod}.${name} is not implemented by the test host`);
          };
    }
    const instance = new WebAssembly.Instance(
      module,
      imports as ConstructorParameters<typeof WebAssembly.Instance>[1],
    );
    this.#exports = instance.exports as unknown as Exports;
    this.#exports._initialize?.();
  }

  /** Calls export `name` (if the module has it) with its first argument as the effective context. */
  call(name: string, ...args: number[]): number | undefined {
    const fn = this.#exports[name];
    if (!fn) return undefined;
    const saved = this.effective;
    this.effective = args[0] ?? 0;
    this.#depth++;
    try {
      return fn(...args);
    } finally {
      this.effective = saved;
      this.#depth--;
      if (this.#depth === 0) this.#runAfterCall();
    }
  }

  /**
   * Runs `action` once the module's current callback has returned, as Envoy defers what a hostcall
   * sets in motion (continuing a stream re-enters the filter with buffered body data).
   */
  afterCall(action: () => void): void {
    if (this.#depth === 0) action();
    else this.#afterCall.push(action);
  }

  #runAfterCall(): void {
    while (this.#afterCall.length > 0) this.#afterCall.shift()!();
  }

  get memoryBytes(): number {
    return this.#exports.memory.buffer.byteLength;
  }

  bytes(): Uint8Array {
    return new Uint8Array(this.#exports.memory.buffer);
  }

  view(): DataView {
    return new DataView(this.#exports.memory.buffer);
  }

  read(ptr: number, len: number): Uint8Array {
    return this.bytes().slice(ptr, ptr + len);
  }

  readString(ptr: number, len: number): string {
    return text.decode(this.read(ptr, len));
  }

  /** Hands bytes to the module the way the host does: allocate through the module, write ptr and len. */
  copyOut(data: Uint8Array, ptrPtr: number, lenPtr: number): number {
    let ptr = 0;
    if (data.length > 0) {
      const alloc = this.#exports.malloc ?? this.#exports.proxy_on_memory_allocate;
      ptr = alloc!(data.length) ?? 0;
      if (ptr === 0) return Status.InvalidMemoryAccess;
      this.bytes().set(data, ptr);
    }
    this.view().setUint32(ptrPtr, ptr, true);
    this.view().setUint32(lenPtr, data.length, true);
    return Status.Ok;
  }
}

/** What the context-free hostcalls read and write; the host exposes it to tests. */
export interface VmEnvironment {
  logs: { level: string; message: string }[];
  logLevel: number;
  metrics: Map<string, Metric>;
  metricIds: string[];
  /** Monotonic clock (WASI clock 1), ns. */
  nowNs: bigint;
  /** Wall clock (WASI clock 0, proxy_get_current_time_nanoseconds), ms since the epoch. */
  realtimeMs: number;
  properties: Record<string, string | Record<string, string>> | undefined;
  nextRandomByte(): number;
}

export function vmHostcalls(vm: WasmVm, env: VmEnvironment): Hostcalls {
  const metricNamed = (id: number) => env.metrics.get(env.metricIds[id] ?? "");
  return {
    proxy_log: (level: number, ptr: number, len: number) => {
      env.logs.push({ level: LogLevel[level] ?? String(level), message: vm.readString(ptr, len) });
      return Status.Ok;
    },
    proxy_get_log_level: (out: number) => {
      vm.view().setUint32(out, env.logLevel, true);
      return Status.Ok;
    },
    proxy_define_metric: (type: number, nPtr: number, nLen: number, idPtr: number) => {
      if (type > MetricType.Histogram) return Status.BadArgument;
      const name = vm.readString(nPtr, nLen);
      let id = env.metricIds.indexOf(name);
      if (id < 0) {
        id = env.metricIds.push(name) - 1;
        env.metrics.set(name, { type, value: 0n, samples: [] });
      }
      vm.view().setUint32(idPtr, id, true);
      return Status.Ok;
    },
    proxy_increment_metric: (id: number, delta: bigint) => {
      const metric = metricNamed(id);
      if (!metric || metric.type === MetricType.Histogram) return Status.BadArgument;
      if (metric.type === MetricType.Counter && delta <= 0n) return Status.BadArgument;
      metric.value += delta;
      return Status.Ok;
    },
    proxy_record_metric: (id: number, value: bigint) => {
      const metric = metricNamed(id);
      if (!metric) return Status.BadArgument;
      if (metric.type === MetricType.Histogram) metric.samples.push(value);
      else metric.value = metric.type === MetricType.Counter ? metric.value + value : value;
      return Status.Ok;
    },
    proxy_get_metric: (id: number, out: number) => {
      const metric = metricNamed(id);
      if (!metric || metric.type === MetricType.Histogram) return Status.BadArgument;
      vm.view().setBigUint64(out, metric.value, true);
      return Status.Ok;
    },
    proxy_get_property: (pPtr: number, pLen: number, ptrPtr: number, lenPtr: number) => {
      const path = vm.readString(pPtr, pLen).replace(/\0+$/, "").split("\0").join(".");
      const value = env.properties?.[path];
      if (value === undefined) return Status.NotFound;
      const bytes = typeof value === "string" ? utf8.encode(value) : encodePairs(Object.entries(value));
      return vm.copyOut(bytes, ptrPtr, lenPtr);
    },
    proxy_get_current_time_nanoseconds: (out: number) => {
      vm.view().setBigUint64(out, BigInt(env.realtimeMs) * 1_000_000n, true);
      return Status.Ok;
    },
    clock_time_get: (id: number, _precision: bigint, out: number) => {
      if (id === WasiClock.Realtime) {
        vm.view().setBigUint64(out, BigInt(env.realtimeMs) * 1_000_000n, true);
      } else if (id === WasiClock.Monotonic) {
        vm.view().setBigUint64(out, env.nowNs, true);
      } else {
        return WASI_NOTSUP;
      }
      return 0;
    },
    random_get: (ptr: number, len: number) => {
      const bytes = vm.bytes();
      for (let i = 0; i < len; i++) bytes[ptr + i] = env.nextRandomByte();
      return 0;
    },
    fd_write: (fd: number, iovs: number, iovsLen: number, nwritten: number) => {
      let written = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = vm.view().getUint32(iovs + i * 8, true);
        const len = vm.view().getUint32(iovs + i * 8 + 4, true);
        env.logs.push({ level: fd === 2 ? "error" : "info", message: vm.readString(ptr, len) });
        written += len;
      }
      vm.view().setUint32(nwritten, written, true);
      return 0;
    },
  };
}
