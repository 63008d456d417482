/**
 * Request-body conditions (body.ruleset.json) through the TypeScript host with Envoy's buffering and
 * `allow_on_headers_stop_iteration` on: a stream is paused only when a rule's other conditions hold
 * and it has a body condition; the body is buffered up to the largest `maxBytes`, then the rules from
 * that one on decide. An abort never lets the request continue; over the cap, without a body, or with
 * a body that is not JSON, a body condition is false and the next rule decides.
 */
import { describe, expect, test } from "bun:test";
import { Action, DataAction, type HeaderPairs, ProxyWasmHost } from "../proxy-wasm-host/index.ts";
import { CONFIG, fixture, header, nextPoll, req, WASM } from "../support/filter-host.ts";

const BODY = fixture("body.ruleset.json");

/** Envoy with `allow_on_headers_stop_iteration` as given, and the plugin's `bodyMatching` with it. */
async function bodyHost(allowOnHeadersStopIteration = true): Promise<ProxyWasmHost> {
  const host = await ProxyWasmHost.load(WASM, {
    pluginConfig: JSON.stringify({
      ...CONFIG,
      reportIntervalMs: 0,
      bodyMatching: allowOnHeadersStopIteration,
    }),
    allowOnHeadersStopIteration,
  });
  expect(host.start()).toBe(true);
  host.respond(nextPoll(host).token, { status: 200, body: BODY.text });
  return host;
}

const post = (path: string, extra: HeaderPairs = []) => req("POST", path, extra);

/** A POST of `chunks` to `path`; the last chunk ends the stream. */
function send(host: ProxyWasmHost, path: string, chunks: string[]) {
  const stream = host.request(post(path), false);
  for (const [i, chunk] of chunks.entries()) host.requestBody(stream, chunk, i === chunks.length - 1);
  return stream;
}

describe("request-body conditions", () => {
  test.each([
    ["contains", ['{"coupon":"FREE","n":1}'], 402, "body-contains"],
    ["contains, split across chunks", ['{"coupon":"FR', 'EE"}'], 402, "body-contains"],
    ["a regex found anywhere", ["a=1&qty=1200&b=2"], 413, "body-regex"],
    ["a regex split across chunks", ["a=1&qty=1", "20"], 413, "body-regex"],
    ["a json path with an exact string", ['{"user":{"tier":"gold","id":7}}'], 503, "body-json-gold"],
    ["a json path through chunks", ['{"user":{"ti', 'er":"gold"}}'], 503, "body-json-gold"],
  ])("%s: the abort answers and the request never continues", async (_, chunks, status, policy) => {
    const host = await bodyHost();
    const stream = send(host, "/api/orders", chunks);
    expect(stream.action).toBe(Action.Pause);
    expect(stream.localResponse?.status).toBe(status);
    expect(header(stream.localResponse?.headers ?? [], "x-hfi-fault")).toBe(policy);
    expect(stream.continued).toBe(false);
    expect(stream.requestBody.sent).toBe("");
    expect(host.metric(`hfi.policy.${policy}.aborts_total`)?.value).toBe(1n);
  });

  test("a json array index and a regex delay the request, then it goes on with its body", async () => {
    const host = await bodyHost();
    const body = '{"items":[{"sku":"SKU-912"}]}';
    const stream = send(host, "/api/orders", [body]);
    expect(stream.requestBody.actions).toEqual([DataAction.StopIterationAndBuffer]);
    expect(stream.continued).toBe(false);
    host.runFor(200);
    expect(stream.continued).toBe(true);
    expect(stream.requestBody.sent).toBe(body);
    expect(host.metric("hfi.policy.body-json-sku.delays_total")?.value).toBe(1n);
  });

  test.each([
    ["no condition holds", '{"user":{"tier":"silver"},"items":[{"sku":"SKU-1"}]}'],
    ["a number where a string is matched", '{"user":{"tier":7}}'],
    ["a path into a missing index", '{"items":[]}'],
  ])("%s: the request goes on with its body, nothing injected", async (_, body) => {
    const host = await bodyHost();
    const stream = send(host, "/api/orders", [body.slice(0, 5), body.slice(5)]);
    expect(stream.localResponse).toBeUndefined();
    expect(stream.continued).toBe(true);
    expect(stream.requestBody.sent).toBe(body);
    expect(stream.requestBody.actions).toEqual([DataAction.StopIterationAndBuffer, DataAction.Continue]);
  });

  test("a json value that is not a string is matched as its JSON text", async () => {
    const text = BODY.text.replace('"value": "gold"', '"value": "42"');
    const host = await bodyHost();
    host.respond(host.httpCalls[0]?.token ?? -1, {
      status: 200,
      body: text.replace('"revision": 7', '"revision": 8'),
    });
    const stream = send(host, "/api/orders", ['{"user":{"tier":42}}']);
    expect(stream.localResponse?.status).toBe(503);
  });

  test("a body that is not JSON makes a json condition false, counted, and the request goes on", async () => {
    const host = await bodyHost();
    const stream = send(host, "/api/orders", ["tier=gold"]);
    expect(stream.localResponse).toBeUndefined();
    expect(stream.requestBody.sent).toBe("tier=gold");
    expect(host.metric("hfi.match.bodies_not_json_total")?.value).toBe(2n);
  });

  test("a body longer than a rule's maxBytes does not match it", async () => {
    const host = await bodyHost();
    const body = `{"items":[{"sku":"SKU-9"}],"pad":"${"x".repeat(64)}"}`;
    const stream = send(host, "/api/orders", [body]);
    expect(stream.localResponse).toBeUndefined();
    expect(stream.continued).toBe(true);
    expect(stream.requestBody.sent).toBe(body);
  });

  test("past the largest maxBytes nothing more is buffered: the request goes on untouched, counted", async () => {
    const host = await bodyHost();
    const stream = host.request(post("/api/orders"), false);
    host.requestBody(stream, `${"y".repeat(16_000)}`, false);
    expect(stream.requestBody.actions).toEqual([DataAction.StopIterationAndBuffer]);
    host.requestBody(stream, `"coupon":"FREE"${"y".repeat(1_000)}`, false);
    expect(stream.requestBody.actions.at(-1)).toBe(DataAction.Continue);
    expect(stream.continued).toBe(true);
    host.requestBody(stream, "rest", true);
    expect(stream.requestBody.actions.at(-1)).toBe(DataAction.Continue);
    expect(stream.localResponse).toBeUndefined();
    expect(stream.requestBody.sent.length).toBe(16_000 + 15 + 1_000 + 4);
    expect(host.metric("hfi.match.bodies_oversize_total")?.value).toBe(1n);
  });

  test("without a body the body conditions are false and the request is not paused", async () => {
    const host = await bodyHost();
    const stream = host.request(post("/api/orders"), true);
    expect(stream.action).toBe(Action.Continue);
    expect(stream.localResponse).toBeUndefined();
  });

  test("without a body the next rule whose conditions hold decides", async () => {
    const host = await bodyHost();
    const stream = host.request(post("/api/orders/fallback"), true);
    expect(stream.localResponse?.status).toBe(409);
  });

  test("when the body matches no body rule, a later rule without one decides", async () => {
    const host = await bodyHost();
    const stream = send(host, "/api/orders/fallback", ['{"user":{"tier":"silver"}}']);
    expect(stream.localResponse?.status).toBe(409);
    expect(stream.continued).toBe(false);
  });

  test("no rule's other conditions hold: the request headers are not paused, the body is not looked at", async () => {
    const host = await bodyHost();
    const stream = host.request(post("/api/users"), false);
    expect(stream.action).toBe(Action.Continue);
    host.requestBody(stream, '{"coupon":"FREE"}', true);
    expect(stream.requestBody.actions).toEqual([DataAction.Continue]);
    expect(stream.requestBody.sent).toBe('{"coupon":"FREE"}');
  });

  test("the first rule that holds has no body condition: it decides at the headers", async () => {
    const host = await bodyHost();
    const stream = host.request(post("/api/cart"), false);
    expect(stream.localResponse?.status).toBe(418);
    expect(stream.requestBody.actions).toEqual([]);
  });

  test("a method that does not hold keeps the body-contains rule from pausing; the regex rule still may", async () => {
    const host = await bodyHost();
    const stream = host.request(req("PUT", "/api/orders"), false);
    expect(stream.action).toBe(Action.Pause);
    host.requestBody(stream, '{"coupon":"FREE"}', true);
    expect(stream.localResponse).toBeUndefined();
    expect(stream.requestBody.sent).toBe('{"coupon":"FREE"}');
  });

  test("a stream that ends while its body is awaited leaves nothing behind", async () => {
    const host = await bodyHost();
    const stream = host.request(post("/api/orders"), false);
    host.requestBody(stream, '{"coupon"', false);
    host.finish(stream);
    const next = send(host, "/api/orders", ['{"coupon":"FREE"}']);
    expect(next.localResponse?.status).toBe(402);
  });

  test("without bodyMatching (Envoy holding bodies behind paused headers) body conditions are false, nothing is paused", async () => {
    const host = await bodyHost(false);
    const stream = send(host, "/api/orders", ['{"coupon":"FREE"}']);
    expect(stream.action).toBe(Action.Continue);
    expect(stream.localResponse).toBeUndefined();
    expect(stream.requestBody.sent).toBe('{"coupon":"FREE"}');
    expect(host.request(post("/api/orders/fallback"), false).localResponse?.status).toBe(409);
    const warnings = host.logs.filter((l) => l.message.includes('"bodyMatching": true'));
    expect(warnings.map((l) => l.level)).toEqual(["warn"]);
  });

  test("a request delayed at its headers keeps its body behind them until the delay ends", async () => {
    const host = await bodyHost();
    const slow = {
      name: "slow",
      priority: 0,
      match: { path: { type: "prefix", value: "/slow" }, headers: [] },
      fault: { percentageMillionths: 1_000_000, delay: { fixedDelayMs: 100 } },
    };
    const ruleSet = JSON.parse(BODY.text);
    host.respond(host.httpCalls[0]?.token ?? -1, {
      status: 200,
      body: JSON.stringify({ ...ruleSet, revision: 9, rules: [...ruleSet.rules, slow] }),
    });
    const stream = host.request(post("/slow"), false);
    expect(stream.action).toBe(Action.Pause);
    host.requestBody(stream, "payload", true);
    expect(stream.requestBody.actions).toEqual([DataAction.StopIterationAndWatermark]);
    expect(stream.continued).toBe(false);
    host.runFor(100);
    expect(stream.continued).toBe(true);
    expect(stream.requestBody.sent).toBe("payload");
  });
});
