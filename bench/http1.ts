/**
 * A minimal HTTP/1.1 client over one keep-alive TCP connection (node:net), for what fetch cannot do:
 * pin requests to one connection (hence one Envoy worker), bind a chosen local address, and hold
 * thousands of long-polls cheaply. Requests on a connection run one at a time.
 */
import { connect, type Socket } from "node:net";

export interface Http1Response {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** performance.now() when the first byte of the response arrived. */
  firstByteAt: number;
}

interface Pending {
  resolve: (r: Http1Response) => void;
  reject: (e: Error) => void;
  firstByteAt: number;
}

export class Http1Connection {
  #buffer: Buffer = Buffer.alloc(0);
  #pending: Pending | null = null;
  #closed: Error | null = null;

  private constructor(
    private readonly socket: Socket,
    private readonly host: string,
  ) {
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("close", () => this.#fail(new Error("connection closed")));
    socket.on("error", (e) => this.#fail(e));
  }

  static connect(options: { host: string; port: number; localAddress?: string }): Promise<Http1Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: options.host, port: options.port, localAddress: options.localAddress });
      socket.setNoDelay(true);
      socket.once("connect", () => resolve(new Http1Connection(socket, `${options.host}:${options.port}`)));
      socket.once("error", reject);
    });
  }

  get closed(): boolean {
    return this.#closed !== null;
  }

  get localPort(): number | undefined {
    return this.socket.localPort;
  }

  /** Sends one request; resolves with the whole response. */
  request(
    path: string,
    options: { method?: string; headers?: Record<string, string> } = {},
  ): Promise<Http1Response> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (this.#pending) return Promise.reject(new Error("a request is already in flight on this connection"));
    const headers = { host: this.host, ...options.headers };
    const head = `${options.method ?? "GET"} ${path} HTTP/1.1\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("")}\r\n`;
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject, firstByteAt: 0 };
      this.socket.write(head);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  #fail(error: Error): void {
    this.#closed ??= error;
    const pending = this.#pending;
    this.#pending = null;
    pending?.reject(error);
  }

  #onData(chunk: Buffer): void {
    if (this.#pending && this.#pending.firstByteAt === 0) this.#pending.firstByteAt = performance.now();
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const parsed = parseResponse(this.#buffer);
    if (!parsed) return;
    this.#buffer = this.#buffer.subarray(parsed.consumed);
    const pending = this.#pending;
    this.#pending = null;
    pending?.resolve({ ...parsed.response, firstByteAt: pending.firstByteAt });
  }
}

/** One complete response at the start of `buf`, or null when more bytes are needed. */
function parseResponse(
  buf: Buffer,
): { response: Omit<Http1Response, "firstByteAt">; consumed: number } | null {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(lines[0]?.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const start = end + 4;
  if (status === 304 || status === 204 || (status >= 100 && status < 200)) {
    return { response: { status, headers, body: Buffer.alloc(0) }, consumed: start };
  }
  if (headers["content-length"] !== undefined) {
    const length = Number(headers["content-length"]);
    if (buf.length < start + length) return null;
    return {
      response: { status, headers, body: buf.subarray(start, start + length) },
      consumed: start + length,
    };
  }
  if (headers["transfer-encoding"]?.toLowerCase() === "chunked") {
    const chunks: Buffer[] = [];
    let at = start;
    for (;;) {
      const lineEnd = buf.indexOf("\r\n", at);
      if (lineEnd < 0) return null;
      const size = Number.parseInt(buf.subarray(at, lineEnd).toString("latin1"), 16);
      if (buf.length < lineEnd + 2 + size + 2) return null;
      if (size === 0)
        return { response: { status, headers, body: Buffer.concat(chunks) }, consumed: lineEnd + 4 };
      chunks.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  throw new Error(`response without length (status ${status})`);
}
