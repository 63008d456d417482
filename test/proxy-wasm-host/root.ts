/**
 * The root context of the test host (context id 1): Envoy's start sequence, the tick timer as Envoy
 * runs it, HTTP callouts and their responses, shutdown.
 */
import { BufferType, MapType, Status } from "./enums.ts";
import { decodePairs, type HeaderPairs } from "./pairs.ts";
import type { Hostcalls, VmEnvironment, WasmVm } from "./vm.ts";

export const ROOT_ID = 1;

export interface HttpCall {
  token: number;
  cluster: string;
  headers: HeaderPairs;
  body: string;
  /** The body's bytes, for a binary one (an observation report). */
  bodyBytes: Uint8Array;
  timeoutMs: number;
}

const utf8 = new TextEncoder();

export class RootContext {
  /** Callouts dispatched and not answered yet. */
  readonly httpCalls: HttpCall[] = [];
  tickPeriodMs = 0;
  /** Every `proxy_set_tick_period_milliseconds`: when (monotonic ns) and the period set. */
  readonly tickSets: { atNs: bigint; periodMs: number }[] = [];
  #nextToken = 1;
  /** When Envoy's timer countdown last started: a set, or the end of a tick (Envoy re-arms then). */
  #armedAtNs = 0n;
  #buffers = new Map<number, Uint8Array>();
  #callResponseHeaders: HeaderPairs = [];

  constructor(
    private readonly vm: WasmVm,
    private readonly env: VmEnvironment,
  ) {}

  /** Envoy's start sequence for one worker: root context, vm_start, configure. Returns on_configure's verdict. */
  start(vmConfig: string, pluginConfig: string): boolean {
    this.vm.call("proxy_on_context_create", ROOT_ID, 0);
    const vmBytes = utf8.encode(vmConfig);
    this.#buffers.set(BufferType.VmConfiguration, vmBytes);
    const started = this.vm.call("proxy_on_vm_start", ROOT_ID, vmBytes.length);
    this.#buffers.delete(BufferType.VmConfiguration);
    if (!started) return false;
    const config = utf8.encode(pluginConfig);
    this.#buffers.set(BufferType.PluginConfiguration, config);
    try {
      return this.vm.call("proxy_on_configure", ROOT_ID, config.length) === 1;
    } finally {
      this.#buffers.delete(BufferType.PluginConfiguration);
    }
  }

  /** One on_tick now; afterwards the timer re-arms with the period then in force, as Envoy does. */
  tick(): void {
    this.vm.call("proxy_on_tick", ROOT_ID);
    this.#armedAtNs = this.env.nowNs;
  }

  /** When the armed timer fires next (monotonic ns), or undefined when it is off. */
  get nextTickAtNs(): bigint | undefined {
    return this.tickPeriodMs > 0 ? this.#armedAtNs + BigInt(this.tickPeriodMs) * 1_000_000n : undefined;
  }

  /** Moves the monotonic clock by `ms`, firing on_tick each time Envoy's timer would. */
  runFor(ms: number): void {
    const end = this.env.nowNs + BigInt(Math.round(ms * 1_000_000));
    for (let due = this.nextTickAtNs; due !== undefined && due <= end; due = this.nextTickAtNs) {
      this.env.nowNs = due;
      this.tick();
    }
    this.env.nowNs = end;
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
      this.vm.call(
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

  /** The plugin goes away (Envoy shutdown or config replaced): on_done then on_delete for the root context. */
  shutdown(): void {
    this.vm.call("proxy_on_done", ROOT_ID);
    this.vm.call("proxy_on_delete", ROOT_ID);
  }

  /** The configuration and callout buffers, while a callback that may read them runs. */
  buffer(type: number): Uint8Array | undefined {
    return this.#buffers.get(type);
  }

  /** The callout response's headers (read-only; empty outside on_http_call_response). */
  headerMap(type: number): HeaderPairs | undefined {
    return type === MapType.HttpCallResponseHeaders ? this.#callResponseHeaders : undefined;
  }

  hostcalls(): Hostcalls {
    const vm = this.vm;
    return {
      proxy_set_tick_period_milliseconds: (ms: number) => {
        // Envoy re-creates the timer on every call: the countdown restarts even for the same period.
        this.tickPeriodMs = ms;
        this.#armedAtNs = this.env.nowNs;
        this.tickSets.push({ atNs: this.env.nowNs, periodMs: ms });
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
        const headers = decodePairs(vm.read(hPtr, hLen));
        const has = (name: string) => headers.some(([k]) => k === name);
        if (!has(":method") || !has(":path") || !has(":authority")) return Status.BadArgument;
        const token = this.#nextToken++;
        const cluster = vm.readString(uPtr, uLen);
        this.httpCalls.push({
          token,
          cluster,
          headers,
          body: vm.readString(bPtr, bLen),
          bodyBytes: vm.read(bPtr, bLen),
          timeoutMs,
        });
        vm.view().setUint32(tokenPtr, token, true);
        return Status.Ok;
      },
    };
  }
}
