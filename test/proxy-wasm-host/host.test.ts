/**
 * The test host's own phases, driven with a small probe module (probe/body-probe.ts) rather than the
 * filter: bodies buffered and rewritten as Envoy does it, bodies held behind paused headers unless
 * allow_on_headers_stop_iteration, response headers writable until passed on, Envoy's buffer limit.
 */
import { describe, expect, test } from "bun:test";
import { Action, DataAction, ProxyWasmHost, type Stream } from "./index.ts";
import { probeWasm } from "./probe/compile.ts";

async function probeHost(options: { allowOnHeadersStopIteration?: boolean; bufferLimitBytes?: number } = {}) {
  const host = await ProxyWasmHost.load(await probeWasm(), { pluginConfig: "", ...options });
  host.start();
  return host;
}

const bodyLogs = (host: ProxyWasmHost) =>
  host.logs.map((l) => l.message).filter((m) => /^(request|response) /.test(m));

const post = (host: ProxyWasmHost): Stream =>
  host.request(
    [
      [":method", "POST"],
      [":path", "/"],
    ],
    false,
  );

describe("request body", () => {
  test("while the headers are paused, the body waits and reaches the filter in one call once they continue", async () => {
    const host = await probeHost();
    const stream = post(host);
    expect(stream.action).toBe(Action.Pause);
    host.requestBody(stream, "abc", false);
    host.requestBody(stream, "def", true);
    expect(bodyLogs(host)).toEqual([]);
    expect(stream.requestBody.sent).toBe("");
    host.tick();
    expect(stream.continued).toBe(true);
    expect(bodyLogs(host)).toEqual(["request 6 1"]);
    expect(stream.requestBody.sent).toBe("ABCDEF");
    expect(stream.requestBody.ended).toBe(true);
  }, 30_000);

  test("with allow_on_headers_stop_iteration the body callbacks arrive while the headers are held, buffered whole", async () => {
    const host = await probeHost({ allowOnHeadersStopIteration: true });
    const stream = post(host);
    host.requestBody(stream, "abc", false);
    expect(stream.continued).toBe(false);
    host.requestBody(stream, "de", true);
    expect(bodyLogs(host)).toEqual(["request 3 0", "request 5 1"]);
    expect(stream.requestBody.actions).toEqual([DataAction.StopIterationAndBuffer, DataAction.Continue]);
    // The body's Continue releases the paused headers with it.
    expect(stream.continued).toBe(true);
    expect(stream.requestBody.sent).toBe("ABCDE");
  }, 30_000);

  test("a body buffered past Envoy's limit is answered 413", async () => {
    const host = await probeHost({ allowOnHeadersStopIteration: true, bufferLimitBytes: 4 });
    const stream = post(host);
    host.requestBody(stream, "abc", false);
    host.requestBody(stream, "de", false);
    expect(stream.localResponse?.status).toBe(413);
    host.requestBody(stream, "f", true);
    expect(bodyLogs(host)).toEqual(["request 3 0", "request 5 0"]);
  }, 30_000);
});

describe("response", () => {
  test("headers are writable in on_response_headers and passed on as changed; chunks are buffered to the end and rewritten", async () => {
    const host = await probeHost();
    const stream = host.request([[":path", "/"]]);
    host.tick();
    host.respondToStream(
      stream,
      [
        [":status", "200"],
        ["Content-Length", "6"],
      ],
      ["ab", "cd", "ef"],
    );
    expect(stream.responseHeadersSent).toEqual([
      [":status", "200"],
      ["x-probe", "seen"],
    ]);
    expect(bodyLogs(host)).toEqual(["response 2 0", "response 4 0", "response 6 1"]);
    expect(stream.responseBody.sent).toBe("<abcdef>");
    expect(stream.responseBody.ended).toBe(true);
  }, 30_000);

  test("a response buffered past Envoy's limit is answered 500", async () => {
    const host = await probeHost({ bufferLimitBytes: 3 });
    const stream = host.request([[":path", "/"]]);
    host.tick();
    host.respondToStream(stream, [[":status", "200"]], ["ab", "cd", "ef"]);
    expect(stream.localResponse?.status).toBe(500);
    expect(stream.responseBody.sent).toBe("");
  }, 30_000);
});
