/**
 * HTTP streams in the test host: request headers and body, response headers and body, the end of a
 * stream, and the hostcalls a stream context makes (header maps, body buffers, local responses,
 * continuing, filter state). Bodies follow Envoy's buffering:
 * - on_*_body gets the size of everything buffered so far plus the new chunk, and reads or rewrites
 *   that whole buffer; Continue passes it on, StopIterationAndBuffer (or …AndWatermark) keeps it for
 *   the next call; past `bufferLimitBytes` Envoy answers 413 (request) or 500 (response) itself.
 * - while a stream's headers are paused, Envoy delivers no body callbacks unless the plugin sets
 *   `allow_on_headers_stop_iteration` (it turns the filter's pause into StopAllIterationAndWatermark):
 *   the body waits and reaches the filter in one call once the headers continue. With the option
 *   on, body callbacks arrive while the headers are held, and a body Continue releases the headers.
 */
import { Action, BufferType, DataAction, MapType, Status, StreamType } from "./enums.ts";
import { decodePairs, type HeaderPairs } from "./pairs.ts";
import type { Hostcalls, VmEnvironment, WasmVm } from "./vm.ts";

export interface LocalResponse {
  status: number;
  details: string;
  body: string;
  headers: HeaderPairs;
  grpcStatus: number;
}

/** One direction's body as Envoy moves it through the filter. */
export interface BodyFlow {
  /** Everything passed on (to the upstream, or to the client), in order. */
  sent: string;
  /** Buffered for the filter after a StopIterationAndBuffer, not passed on yet. */
  buffered: Uint8Array;
  /** Whether the buffered body is the whole rest of the stream. */
  bufferedEnd: boolean;
  /** Arrived while the headers were paused without allow_on_headers_stop_iteration; not shown to the filter yet. */
  held: Uint8Array;
  heldEnd: boolean;
  /** Set once a chunk with end_of_stream was passed on. */
  ended: boolean;
  /** What each on_*_body call returned. */
  actions: number[];
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
  requestBody: BodyFlow;
  /** The upstream's response headers as the filter may change them; undefined before they arrive. */
  responseHeaders?: HeaderPairs;
  /** What `proxy_on_response_headers` returned. */
  responseAction?: number;
  /** The response headers as passed on to the client (a copy taken when they went). */
  responseHeadersSent?: HeaderPairs;
  responseBody: BodyFlow;
}

export interface StreamOptions {
  /** Envoy's wasm PluginConfig `allow_on_headers_stop_iteration` (default false, as in Envoy). */
  allowOnHeadersStopIteration?: boolean;
  /** Envoy's buffer limit per stream (per_connection_buffer_limit_bytes, default 1 MiB). */
  bufferLimitBytes?: number;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();
const EMPTY = new Uint8Array();
const DEFAULT_BUFFER_LIMIT = 1 << 20;

const newFlow = (): BodyFlow => ({
  sent: "",
  buffered: EMPTY,
  bufferedEnd: false,
  held: EMPTY,
  heldEnd: false,
  ended: false,
  actions: [],
});

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export class HttpStreams {
  readonly streams = new Map<number, Stream>();
  /** `proxy_continue_stream` / `proxy_send_local_response` made while no live stream was effective. */
  readonly strayCalls: string[] = [];
  #nextContextId: number;
  /** The body the running on_*_body call sees and may rewrite, by buffer type. */
  #bodies = new Map<number, Uint8Array>();

  constructor(
    private readonly vm: WasmVm,
    private readonly env: VmEnvironment,
    private readonly rootId: number,
    private readonly options: StreamOptions = {},
  ) {
    this.#nextContextId = rootId + 1;
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
      requestBody: newFlow(),
      responseBody: newFlow(),
    };
    this.streams.set(id, stream);
    this.vm.call("proxy_on_context_create", id, this.rootId);
    stream.action = this.vm.call("proxy_on_request_headers", id, headers.length, endOfStream ? 1 : 0) ?? 0;
    if (endOfStream) stream.requestBody.ended = true;
    return stream;
  }

  /** A chunk of the request body arrives from the client. */
  requestBody(stream: Stream, chunk: string | Uint8Array, endOfStream: boolean): void {
    this.#arrive(stream, StreamType.Request, chunk, endOfStream);
  }

  /** The upstream's response headers arrive: runs `proxy_on_response_headers`. */
  responseHeaders(stream: Stream, headers: HeaderPairs, endOfStream = false): void {
    stream.responseHeaders = headers.map(([k, v]) => [k.toLowerCase(), v]);
    const action = this.vm.call("proxy_on_response_headers", stream.id, headers.length, endOfStream ? 1 : 0);
    stream.responseAction = action ?? Action.Continue;
    if (stream.responseAction === Action.Continue) this.#sendResponseHeaders(stream);
    if (endOfStream && stream.responseHeadersSent) stream.responseBody.ended = true;
  }

  /** A chunk of the response body arrives from the upstream. */
  responseBody(stream: Stream, chunk: string | Uint8Array, endOfStream: boolean): void {
    this.#arrive(stream, StreamType.Response, chunk, endOfStream);
  }

  /** The whole response: headers, then each chunk (the last one ends the stream), as the upstream sends it. */
  respondToStream(stream: Stream, headers: HeaderPairs, chunks: (string | Uint8Array)[]): void {
    this.responseHeaders(stream, headers, chunks.length === 0);
    for (const [i, chunk] of chunks.entries()) this.responseBody(stream, chunk, i === chunks.length - 1);
  }

  /**
   * The stream ends (normally, or by a client reset — also mid-delay): Envoy's log → done → delete
   * sequence, after which the context is unknown to the host (set_effective_context fails). With
   * `status` and no response yet, the upstream's headers-only response with that status passes
   * through the filter first; without, the stream was reset before any response. (A local response
   * went through the filter's response headers when it was sent; its body callback is not modelled.)
   */
  finish(stream: Stream, status?: number): void {
    if (!stream.localResponse && stream.responseHeaders === undefined && status !== undefined) {
      this.responseHeaders(stream, [[":status", String(status)]], true);
    }
    this.vm.call("proxy_on_log", stream.id);
    this.vm.call("proxy_on_done", stream.id);
    this.vm.call("proxy_on_delete", stream.id);
    this.streams.delete(stream.id);
    stream.finished = true;
  }

  /** The host forgets a stream without telling the module (never seen from Envoy; a defensive case). */
  forget(stream: Stream): void {
    this.streams.delete(stream.id);
    stream.finished = true;
  }

  /** The body of the running on_*_body call. */
  buffer(type: number): Uint8Array | undefined {
    return this.#bodies.get(type);
  }

  headerMap(type: number): HeaderPairs | undefined {
    const stream = this.#effective();
    if (type === MapType.RequestHeaders) return stream?.requestHeaders;
    if (type === MapType.ResponseHeaders) return stream?.responseHeaders;
    return undefined;
  }

  #effective(): Stream | undefined {
    return this.streams.get(this.vm.effective);
  }

  #headersHeld(stream: Stream, direction: number): boolean {
    return direction === StreamType.Request
      ? stream.action === Action.Pause && !stream.continued
      : stream.responseHeaders !== undefined && stream.responseHeadersSent === undefined;
  }

  #arrive(stream: Stream, direction: number, chunk: string | Uint8Array, endOfStream: boolean): void {
    const flow = direction === StreamType.Request ? stream.requestBody : stream.responseBody;
    const bytes = typeof chunk === "string" ? utf8.encode(chunk) : chunk;
    if (stream.localResponse) return;
    if (this.#headersHeld(stream, direction) && !this.options.allowOnHeadersStopIteration) {
      flow.held = concat(flow.held, bytes);
      flow.heldEnd = endOfStream;
      return;
    }
    this.#runBody(stream, direction, bytes, endOfStream);
  }

  /** One on_*_body call over the buffered body plus `chunk`, then what Envoy does with its verdict. */
  #runBody(stream: Stream, direction: number, chunk: Uint8Array, endOfStream: boolean): void {
    const request = direction === StreamType.Request;
    const flow = request ? stream.requestBody : stream.responseBody;
    const type = request ? BufferType.HttpRequestBody : BufferType.HttpResponseBody;
    this.#bodies.set(type, concat(flow.buffered, chunk));
    let action: number;
    try {
      const size = this.#bodies.get(type)!.length;
      const callback = request ? "proxy_on_request_body" : "proxy_on_response_body";
      action = this.vm.call(callback, stream.id, size, endOfStream ? 1 : 0) ?? DataAction.Continue;
    } finally {
      flow.buffered = this.#bodies.get(type)!;
      this.#bodies.delete(type);
    }
    flow.actions.push(action);
    if (action === DataAction.Continue) {
      // A body Continue also releases headers the filter paused (Envoy's StopIteration contract).
      if (request && stream.action === Action.Pause && !stream.continued) this.#markContinued(stream);
      if (!request && stream.responseHeadersSent === undefined) this.#sendResponseHeaders(stream);
      this.#pass(flow, endOfStream);
    } else if (action === DataAction.StopIterationNoBuffer) {
      throw new Error("StopIterationNoBuffer is not modelled by the test host");
    } else {
      flow.bufferedEnd = endOfStream;
      if (flow.buffered.length > (this.options.bufferLimitBytes ?? DEFAULT_BUFFER_LIMIT)) {
        stream.localResponse = {
          status: request ? 413 : 500,
          details: request ? "request_payload_too_large" : "response_payload_too_large",
          body: "",
          headers: [],
          grpcStatus: -1,
        };
      }
    }
  }

  #pass(flow: BodyFlow, endOfStream: boolean): void {
    flow.sent += text.decode(flow.buffered);
    flow.buffered = EMPTY;
    flow.bufferedEnd = false;
    if (endOfStream) flow.ended = true;
  }

  #sendResponseHeaders(stream: Stream): void {
    stream.responseHeadersSent = (stream.responseHeaders ?? []).map(([k, v]) => [k, v]);
  }

  #markContinued(stream: Stream): void {
    stream.continued = true;
    stream.continuedAtNs = this.env.nowNs;
  }

  /** proxy_continue_stream: headers go on; what waited behind them reaches the filter, or goes on. */
  #continue(stream: Stream, direction: number): void {
    const request = direction === StreamType.Request;
    if (request) this.#markContinued(stream);
    else if (stream.responseHeaders !== undefined && stream.responseHeadersSent === undefined) {
      this.#sendResponseHeaders(stream);
    }
    const flow = request ? stream.requestBody : stream.responseBody;
    this.vm.afterCall(() => {
      if (stream.finished || stream.localResponse) return;
      if (flow.held.length > 0 || flow.heldEnd) {
        // What waited behind the paused headers reaches the filter now, in one call.
        const held = flow.held;
        const end = flow.heldEnd;
        flow.held = EMPTY;
        flow.heldEnd = false;
        this.#runBody(stream, direction, held, end);
      } else if (flow.buffered.length > 0 || flow.bufferedEnd) {
        // The filter buffered, then continued: the buffer goes on as it stands.
        this.#pass(flow, flow.bufferedEnd);
      }
    });
  }

  /**
   * A header map the module may change. Envoy keeps the request header map only until the stream
   * continues, and the response header map until it is passed on: afterwards a write fails with
   * BadArgument.
   */
  #writableHeaderMap(mapType: number): HeaderPairs | undefined {
    const stream = this.#effective();
    if (!stream) return undefined;
    if (mapType === MapType.RequestHeaders) return stream.continued ? undefined : stream.requestHeaders;
    if (mapType === MapType.ResponseHeaders && stream.responseHeadersSent === undefined) {
      return stream.responseHeaders;
    }
    return undefined;
  }

  hostcalls(): Hostcalls {
    const vm = this.vm;
    return {
      proxy_add_header_map_value: (map: number, kPtr: number, kLen: number, vPtr: number, vLen: number) => {
        const pairs = this.#writableHeaderMap(map);
        if (!pairs) return Status.BadArgument;
        pairs.push([vm.readString(kPtr, kLen).toLowerCase(), vm.readString(vPtr, vLen)]);
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
        const key = vm.readString(kPtr, kLen).toLowerCase();
        const kept = pairs.filter(([k]) => k.toLowerCase() !== key);
        pairs.splice(0, pairs.length, ...kept, [key, vm.readString(vPtr, vLen)]);
        return Status.Ok;
      },
      proxy_remove_header_map_value: (map: number, kPtr: number, kLen: number) => {
        const pairs = this.#writableHeaderMap(map);
        if (!pairs) return Status.BadArgument;
        // Envoy's remove: every value of the header goes; an absent header is no error.
        const key = vm.readString(kPtr, kLen).toLowerCase();
        const kept = pairs.filter(([k]) => k.toLowerCase() !== key);
        pairs.splice(0, pairs.length, ...kept);
        return Status.Ok;
      },
      proxy_set_buffer_bytes: (type: number, start: number, length: number, dPtr: number, dLen: number) => {
        const body = this.#bodies.get(type);
        if (!body) return Status.NotFound;
        // Envoy replaces [start, start+length) with the data (start 0 and length ≥ size: the whole body).
        const end = Math.min(start + length, body.length);
        if (start > body.length) return Status.BadArgument;
        const data = vm.read(dPtr, dLen);
        this.#bodies.set(type, concat(concat(body.subarray(0, start), data), body.subarray(end)));
        return Status.Ok;
      },
      proxy_set_property: (pPtr: number, pLen: number, vPtr: number, vLen: number) => {
        // Envoy keeps it in the stream's filter state as `wasm.<path>`; a root context has no stream.
        const stream = this.#effective();
        if (!stream) return Status.NotFound;
        stream.filterState.set(`wasm.${vm.readString(pPtr, pLen)}`, vm.readString(vPtr, vLen));
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
        const stream = this.#effective();
        if (!stream) {
          this.strayCalls.push(`proxy_send_local_response on context ${vm.effective}`);
          return Status.NotFound;
        }
        stream.localResponseAtNs = this.env.nowNs;
        const local: LocalResponse = {
          status,
          details: vm.readString(dPtr, dLen),
          body: vm.readString(bPtr, bLen),
          headers: hLen ? decodePairs(vm.read(hPtr, hLen)) : [],
          grpcStatus,
        };
        stream.localResponse = local;
        // Envoy sends it once the callback returns, through every encoder filter — this one too.
        vm.afterCall(() => {
          if (stream.finished || stream.responseHeaders !== undefined) return;
          this.responseHeaders(stream, [[":status", String(status)], ...local.headers], local.body === "");
        });
        return Status.Ok;
      },
      proxy_continue_stream: (streamType: number) => {
        const stream = this.#effective();
        if (streamType > 3) return Status.BadArgument;
        if (!stream) {
          this.strayCalls.push(`proxy_continue_stream on context ${vm.effective}`);
        } else if (streamType === StreamType.Request || streamType === StreamType.Response) {
          this.#continue(stream, streamType);
        }
        return Status.Ok;
      },
      proxy_set_effective_context: (id: number) => {
        if (id !== this.rootId && !this.streams.has(id)) return Status.BadArgument;
        vm.effective = id;
        return Status.Ok;
      },
    };
  }
}
