/**
 * Response faults (responses.ruleset.json): decided at request headers (the percentage drawn once),
 * applied in on_response_headers when the upstream's response meets `match.response`; streams no
 * response rule took pay nothing there; a halt or deletion since the request withdraws the fault;
 * a bad response part fails the rule set whole.
 */
import { describe, expect, test } from "bun:test";
import { parseReport } from "../../src/observations/index.ts";
import { DataAction } from "../proxy-wasm-host/enums.ts";
import { Action, type HeaderPairs, ProxyWasmHost } from "../proxy-wasm-host/index.ts";
import {
  CONFIG,
  fixture,
  header,
  hostWithRules,
  nextPoll,
  pushRules,
  req,
  WASM,
  WITHOUT_OBSERVATIONS,
} from "../support/filter-host.ts";

const RESPONSES = fixture("responses.ruleset.json");
const JSON_200: HeaderPairs = [
  [":status", "200"],
  ["content-type", "application/json; charset=utf-8"],
  ["content-length", "2"],
  ["etag", '"v1"'],
  ["cache-control", "max-age=600"],
];

/** The response headers the client gets for `path` when the upstream answers with `headers`. */
function respond(host: ProxyWasmHost, path: string, headers: HeaderPairs) {
  const stream = host.request(req("GET", path));
  host.respondToStream(stream, headers, ["{}"]);
  host.finish(stream);
  return { stream, sent: stream.responseHeadersSent ?? [] };
}

const rejection = (host: ProxyWasmHost) => host.logs.find((l) => l.message.startsWith("rejected"))?.message;

describe("response faults", () => {
  test("the status is replaced and the rule named; the body and the rest of the headers go on", async () => {
    const host = await hostWithRules(RESPONSES.text);
    const stream = host.request(req("GET", "/api/orders/7"));
    expect(stream.action).toBe(Action.Pause);
    host.runFor(10);
    expect(stream.continued).toBe(true);
    host.respondToStream(stream, JSON_200, ["{}"]);
    const sent = stream.responseHeadersSent ?? [];
    expect(stream.responseAction).toBe(Action.Continue);
    expect(header(sent, ":status")).toBe("502");
    expect(header(sent, "x-hfi-fault")).toBe("slow-then-502");
    expect(header(sent, "etag")).toBe('"v1"');
    expect(stream.responseBody.sent).toBe("{}");
    expect(host.metric("hfi.policy.slow-then-502.responses_total")?.value).toBe(1n);
    expect(host.metric("hfi.faults.responses_total")?.value).toBe(1n);
  });

  test("headers are removed, then set, when the status and a response header match", async () => {
    const host = await hostWithRules(RESPONSES.text);
    const { sent } = respond(host, "/api/catalog/1", JSON_200);
    expect(sent).toEqual([
      [":status", "200"],
      ["content-type", "application/json; charset=utf-8"],
      ["content-length", "2"],
      ["x-hfi-fault", "stale-cache"],
      ["cache-control", "max-age=0"],
      ["x-served-by", "hfi"],
    ]);
  });

  test.each([
    ["a status out of range", [[":status", "404"], ...JSON_200.slice(1)]],
    [
      "a header condition that fails",
      [
        [":status", "200"],
        ["content-type", "text/html"],
      ],
    ],
    ["no header the condition needs", [[":status", "204"]]],
  ] as [string, HeaderPairs][])("match.response: %s leaves the response alone", async (_, headers) => {
    const host = await hostWithRules(RESPONSES.text);
    const { sent } = respond(host, "/api/catalog/1", headers);
    expect(sent).toEqual(headers);
    expect(host.metric("hfi.faults.responses_total")?.value).toBe(0n);
  });

  test("the share is drawn once, at request headers: about half of the matching 200s and 201s become 500s", async () => {
    const host = await hostWithRules(RESPONSES.text, { randomSeed: 7 });
    const statuses = Array.from({ length: 400 }, (_, i) => {
      const upstream = i % 2 === 0 ? "200" : "201";
      return header(respond(host, "/api/cart", [[":status", upstream]]).sent, ":status");
    });
    const faulted = statuses.filter((s) => s === "500").length;
    expect(faulted).toBeGreaterThan(150);
    expect(faulted).toBeLessThan(250);
    expect(statuses.filter((s) => s !== "500").every((s) => s === "200" || s === "201")).toBe(true);
    // Outside the status set, never, in or out of the share.
    const others = Array.from({ length: 50 }, () => respond(host, "/api/cart", [[":status", "503"]]).sent);
    expect(others.every((sent) => header(sent, ":status") === "503")).toBe(true);
  });

  test("a dry run counts the response it would have rewritten and leaves it alone", async () => {
    const host = await hostWithRules(RESPONSES.text);
    const { sent } = respond(host, "/api/teapot", [[":status", "200"]]);
    expect(sent).toEqual([[":status", "200"]]);
    expect(host.metric("hfi.policy.teapot-dry-run.dryrun_matches_total")?.value).toBe(1n);
  });

  test("a stream no response rule took makes no hostcall in on_response_headers", async () => {
    const host = await hostWithRules(RESPONSES.text);
    const stream = host.request(req("GET", "/elsewhere"));
    const before = new Map(host.calls);
    host.responseHeaders(stream, JSON_200);
    expect([...host.calls].filter(([name, n]) => n !== before.get(name))).toEqual([]);
    expect(stream.responseHeadersSent).toEqual(JSON_200);
  });

  test("a stream observed for a rule without a response part makes one hostcall there: its `:status` read", async () => {
    const host = await hostWithRules(fixture("basic.ruleset.json").text, { randomSeed: 3 });
    const passed = Array.from({ length: 20 }, () => host.request(req("GET", "/flaky"))).find(
      (stream) => stream.localResponse === undefined,
    );
    if (!passed) throw new Error("every request to /flaky was aborted");
    const before = new Map(host.calls);
    host.respondToStream(passed, JSON_200, ["{}"]);
    const made = [...host.calls]
      .filter(([name, n]) => n !== before.get(name))
      .map(([name, n]) => [name, n - (before.get(name) ?? 0)]);
    expect(made).toEqual([["proxy_get_header_map_value", 1]]);
    expect(passed.responseHeadersSent).toEqual(JSON_200);
  });

  test.each([
    ["a halt", (rs: typeof RESPONSES.ruleSet) => ({ ...rs, halted: true })],
    [
      "the policy's deletion",
      (rs: typeof RESPONSES.ruleSet) => ({ ...rs, rules: rs.rules.filter((r) => r.name !== "stale-cache") }),
    ],
  ])("%s between request and response withdraws the fault", async (_, change) => {
    const host = await hostWithRules(RESPONSES.text);
    const stream = host.request(req("GET", "/api/catalog/1"));
    pushRules(
      host,
      JSON.stringify({ ...change(RESPONSES.ruleSet), revision: RESPONSES.ruleSet.revision + 1 }),
    );
    expect(rejection(host)).toBeUndefined();
    host.respondToStream(stream, JSON_200, ["{}"]);
    expect(stream.responseHeadersSent).toEqual(JSON_200);
  });

  test("a new rule set that still enforces the policy keeps the fault", async () => {
    const host = await hostWithRules(RESPONSES.text);
    const stream = host.request(req("GET", "/api/catalog/1"));
    pushRules(host, JSON.stringify({ ...RESPONSES.ruleSet, revision: RESPONSES.ruleSet.revision + 1 }));
    host.respondToStream(stream, JSON_200, ["{}"]);
    expect(header(stream.responseHeadersSent ?? [], "x-hfi-fault")).toBe("stale-cache");
  });

  test("a rewritten response counts as injected (with the aborts) in its policy's observations", async () => {
    const host = await hostWithRules(RESPONSES.text, { config: { ...CONFIG, reportIntervalMs: 100 } });
    for (let i = 0; i < 3; i++) respond(host, "/api/catalog/1", JSON_200);
    respond(host, "/api/catalog/1", [[":status", "404"]]);
    host.runFor(200);
    const report = host.httpCalls.find((c) =>
      (header(c.headers, ":path") ?? "").startsWith("/v1/observations"),
    );
    expect(report).toBeDefined();
    const policy = parseReport(report?.bodyBytes ?? new Uint8Array()).policies.find(
      (p) => p.name === "stale-cache",
    );
    expect(policy).toMatchObject({ matched: 4, aborts: 3, delays: 0, statuses: { "200": 3, "404": 1 } });
    // A response delay alone is a delay, not an abort.
    host.respond(report?.token ?? 0, { status: 200 });
    const slow = host.request(req("GET", "/api/search"));
    host.respondToStream(slow, JSON_200, ["{}"]);
    host.runFor(20);
    host.finish(slow);
    host.runFor(200);
    const later = host.httpCalls.filter((c) =>
      (header(c.headers, ":path") ?? "").startsWith("/v1/observations"),
    );
    const search = later
      .flatMap((c) => parseReport(c.bodyBytes).policies)
      .find((p) => p.name === "jittery-search");
    expect(search).toMatchObject({ matched: 1, aborts: 0, delays: 1 });
  });
});

describe("response delays", () => {
  test("the response headers are held for the delay after the upstream answered, then rewritten and released", async () => {
    const host = await hostWithRules(RESPONSES.text, WITHOUT_OBSERVATIONS);
    const stream = host.request(req("GET", "/api/slow"));
    expect(stream.action).toBe(Action.Continue);
    host.runFor(50);
    host.respondToStream(stream, JSON_200, ["{", "}"]);
    expect(stream.responseAction).toBe(Action.Pause);
    expect(stream.responseHeadersSent).toBeUndefined();
    expect(host.metric("hfi.faults.delays_active")?.value).toBe(1n);
    host.runFor(19);
    expect(stream.responseHeadersSent).toBeUndefined();
    host.runFor(2);
    expect(header(stream.responseHeadersSent ?? [], ":status")).toBe("503");
    expect(header(stream.responseHeadersSent ?? [], "x-hfi-fault")).toBe("slow-response");
    expect(stream.responseBody.sent).toBe("{}");
    expect(stream.responseBody.ended).toBe(true);
    expect(host.metric("hfi.faults.delays_active")?.value).toBe(0n);
    expect(host.metric("hfi.policy.slow-response.delays_total")?.value).toBe(1n);
    expect(host.metric("hfi.policy.slow-response.responses_total")?.value).toBe(1n);
  });

  test("with bodies delivered behind held headers (allow_on_headers_stop_iteration), the body waits for the delay too", async () => {
    const host = await ProxyWasmHost.load(WASM, {
      pluginConfig: JSON.stringify({ ...CONFIG, reportIntervalMs: 0, bodyMatching: true }),
      allowOnHeadersStopIteration: true,
    });
    expect(host.start()).toBe(true);
    host.respond(nextPoll(host).token, { status: 200, body: RESPONSES.text });
    const stream = host.request(req("GET", "/api/slow"));
    host.respondToStream(stream, JSON_200, ["{", "}"]);
    expect(stream.responseAction).toBe(Action.Pause);
    expect(stream.responseBody.actions).toEqual([
      DataAction.StopIterationAndWatermark,
      DataAction.StopIterationAndWatermark,
    ]);
    expect(stream.responseHeadersSent).toBeUndefined();
    host.runFor(21);
    expect(header(stream.responseHeadersSent ?? [], ":status")).toBe("503");
    expect(stream.responseBody.sent).toBe("{}");
    expect(stream.responseBody.ended).toBe(true);
  });

  test("a drawn response delay stays within its range and only delays", async () => {
    const host = await hostWithRules(RESPONSES.text, WITHOUT_OBSERVATIONS);
    for (let i = 0; i < 20; i++) {
      const stream = host.request(req("GET", "/api/search"));
      host.respondToStream(stream, JSON_200, ["{}"]);
      host.runFor(4);
      expect(stream.responseHeadersSent).toBeUndefined();
      host.runFor(7);
      expect(stream.responseHeadersSent).toEqual([...JSON_200, ["x-hfi-fault", "jittery-search"]]);
      host.finish(stream);
    }
  });

  test.each([
    ["a halt", (rs: typeof RESPONSES.ruleSet) => ({ ...rs, halted: true })],
    [
      "the policy's deletion",
      (rs: typeof RESPONSES.ruleSet) => ({
        ...rs,
        rules: rs.rules.filter((r) => r.name !== "slow-response"),
      }),
    ],
  ])("%s releases a held response at once, untouched", async (_, change) => {
    const host = await hostWithRules(RESPONSES.text, WITHOUT_OBSERVATIONS);
    const stream = host.request(req("GET", "/api/slow"));
    host.respondToStream(stream, JSON_200, ["{}"]);
    expect(stream.responseHeadersSent).toBeUndefined();
    pushRules(
      host,
      JSON.stringify({ ...change(RESPONSES.ruleSet), revision: RESPONSES.ruleSet.revision + 1 }),
    );
    expect(stream.responseHeadersSent).toEqual(JSON_200);
    expect(stream.responseBody.sent).toBe("{}");
    expect(host.metric("hfi.faults.delays_active")?.value).toBe(0n);
    expect(host.metric("hfi.faults.responses_total")?.value).toBe(0n);
  });

  test("observations record the status a held response left with: rewritten at the deadline, untouched after a halt", async () => {
    const host = await hostWithRules(RESPONSES.text, { config: { ...CONFIG, reportIntervalMs: 100 } });
    const rewritten = host.request(req("GET", "/api/slow"));
    host.respondToStream(rewritten, JSON_200, ["{}"]);
    host.runFor(21);
    expect(header(rewritten.responseHeadersSent ?? [], ":status")).toBe("503");
    host.finish(rewritten);
    const released = host.request(req("GET", "/api/slow"));
    host.respondToStream(released, JSON_200, ["{}"]);
    pushRules(
      host,
      JSON.stringify({ ...RESPONSES.ruleSet, halted: true, revision: RESPONSES.ruleSet.revision + 1 }),
    );
    expect(header(released.responseHeadersSent ?? [], ":status")).toBe("200");
    host.finish(released);
    host.runFor(200);
    const policy = host.httpCalls
      .filter((c) => (header(c.headers, ":path") ?? "").startsWith("/v1/observations"))
      .flatMap((c) => parseReport(c.bodyBytes).policies)
      .find((p) => p.name === "slow-response");
    expect(policy).toMatchObject({ matched: 2, delays: 2, statuses: { "503": 1, "200": 1 } });
  });

  test("a client gone while its response is held leaves the queue", async () => {
    const host = await hostWithRules(RESPONSES.text, WITHOUT_OBSERVATIONS);
    const stream = host.request(req("GET", "/api/slow"));
    host.responseHeaders(stream, JSON_200);
    host.finish(stream);
    expect(host.metric("hfi.faults.delays_active")?.value).toBe(0n);
    host.runFor(50);
    expect(host.strayCalls).toEqual([]);
  });

  test("at maxActiveDelays a response passes at once, untouched, counted as overflow", async () => {
    const host = await hostWithRules(RESPONSES.text, {
      config: { ...WITHOUT_OBSERVATIONS.config, maxActiveDelays: 1 },
    });
    const held = host.request(req("GET", "/api/slow"));
    host.responseHeaders(held, JSON_200);
    const passed = host.request(req("GET", "/api/slow"));
    host.responseHeaders(passed, JSON_200);
    expect([held.responseHeadersSent, passed.responseHeadersSent]).toEqual([undefined, JSON_200]);
    expect(host.metric("hfi.faults.overflow_total")?.value).toBe(1n);
  });
});

describe("body replacement", () => {
  const GZIP_200: HeaderPairs = [
    [":status", "200"],
    ["content-type", "application/json"],
    ["content-encoding", "gzip"],
    ["content-length", "7"],
  ];

  test("the first chunk becomes the rule's body and the rest nothing; content-length is the new body's", async () => {
    const host = await hostWithRules(RESPONSES.text);
    const stream = host.request(req("GET", "/api/maintenance"));
    host.respondToStream(stream, GZIP_200, ["\x1f\x8b\x08", "\x00\x00", "\x00\x00"]);
    expect(new Map(stream.responseHeadersSent)).toEqual(
      new Map([
        [":status", "503"],
        ["content-type", "text/plain"],
        ["x-hfi-fault", "maintenance-page"],
        ["content-length", "20"],
      ]),
    );
    expect(stream.responseBody.sent).toBe("down for maintenance");
    expect(stream.responseBody.ended).toBe(true);
  });

  test("a chunked response (no content-length) gets one", async () => {
    const host = await hostWithRules(RESPONSES.text);
    const stream = host.request(req("GET", "/api/maintenance"));
    host.respondToStream(stream, [[":status", "200"]], ["a", "b", ""]);
    expect(header(stream.responseHeadersSent ?? [], "content-length")).toBe("20");
    expect(stream.responseBody.sent).toBe("down for maintenance");
  });

  test("headers that end the stream (a HEAD, a 304) keep their content-length; no body is added", async () => {
    const host = await hostWithRules(RESPONSES.text);
    const stream = host.request(req("HEAD", "/api/maintenance"));
    host.responseHeaders(
      stream,
      [
        [":status", "200"],
        ["content-length", "512"],
      ],
      true,
    );
    expect(new Map(stream.responseHeadersSent)).toEqual(
      new Map([
        [":status", "503"],
        ["content-length", "512"],
        ["content-type", "text/plain"],
        ["x-hfi-fault", "maintenance-page"],
      ]),
    );
    expect(stream.responseBody.sent).toBe("");
  });

  test("a client gone mid-body leaves nothing behind; other streams' bodies are untouched", async () => {
    const host = await hostWithRules(RESPONSES.text);
    const gone = host.request(req("GET", "/api/maintenance"));
    host.responseHeaders(gone, [[":status", "200"]]);
    host.responseBody(gone, "upstream", false);
    host.finish(gone);
    const other = host.request(req("GET", "/elsewhere"));
    host.respondToStream(other, [[":status", "200"]], ["kept ", "as sent"]);
    expect(other.responseBody.sent).toBe("kept as sent");
  });
});

describe("JSON merge patch", () => {
  const JSON_HEADERS: HeaderPairs = [
    [":status", "200"],
    ["content-type", "application/json"],
  ];
  const patched = (host: ProxyWasmHost, headers: HeaderPairs, chunks: string[]) => {
    const stream = host.request(req("GET", "/api/price/7"));
    host.respondToStream(stream, headers, chunks);
    return stream;
  };

  test("a JSON body buffered to its end is patched (RFC 7386); content-length goes", async () => {
    const host = await hostWithRules(RESPONSES.text);
    const body =
      '{"sku":"a\\u00e9\\n","price":12.5,"discount":{"pct":10},"meta":{"patched":false,"v":1},"n":[1,2.25,-3e-7]}';
    const stream = patched(
      host,
      [...JSON_HEADERS, ["content-length", String(body.length)]],
      [body.slice(0, 20), body.slice(20)],
    );
    expect(stream.responseBody.actions).toEqual([DataAction.StopIterationAndBuffer, DataAction.Continue]);
    expect(header(stream.responseHeadersSent ?? [], "content-length")).toBeUndefined();
    expect(JSON.parse(stream.responseBody.sent)).toEqual({
      sku: "aé\n",
      price: 0,
      meta: { patched: true, v: 1, tags: ["hfi", "test"], note: 'quote " and tab\t' },
      n: [1, 2.25, -3e-7],
    });
    // Numbers the patch leaves alone are written back as they came.
    expect(stream.responseBody.sent).toContain('"n":[1,2.25,-3e-7]');
  });

  test.each([
    [
      "an array",
      "[1,2]",
      { price: 0, meta: { patched: true, tags: ["hfi", "test"], note: 'quote " and tab\t' } },
    ],
    [
      "a duplicate member",
      '{"price":1,"price":2,"x":null}',
      { price: 0, x: null, meta: { patched: true, tags: ["hfi", "test"], note: 'quote " and tab\t' } },
    ],
  ])("%s as the body: patched as RFC 7386 says", async (_, body, expected) => {
    const host = await hostWithRules(RESPONSES.text);
    const stream = patched(host, JSON_HEADERS, [body]);
    expect(JSON.parse(stream.responseBody.sent)).toEqual(expected);
    expect(stream.responseBody.sent.match(/"price"/g)).toHaveLength(1);
  });

  test("a body that is not JSON goes on untouched, counted", async () => {
    const host = await hostWithRules(RESPONSES.text);
    const stream = patched(host, JSON_HEADERS, ["<html>", "</html>"]);
    expect(stream.responseBody.sent).toBe("<html></html>");
    expect(host.metric("hfi.faults.patches_skipped_invalid_total")?.value).toBe(1n);
  });

  test("a compressed body is never patched: it keeps its content-length, counted; the rest of the fault applies", async () => {
    const host = await hostWithRules(RESPONSES.text);
    const gzip: HeaderPairs = [...JSON_HEADERS, ["content-encoding", "gzip"], ["content-length", "4"]];
    const stream = patched(host, gzip, ["\x1f\x8b\x08\x00"]);
    expect(stream.responseBody.sent).toBe("\x1f\x8b\x08\x00");
    expect(stream.responseBody.actions).toEqual([DataAction.Continue]);
    expect(header(stream.responseHeadersSent ?? [], "content-length")).toBe("4");
    expect(header(stream.responseHeadersSent ?? [], "x-hfi-fault")).toBe("free-prices");
    expect(host.metric("hfi.faults.patches_skipped_compressed_total")?.value).toBe(1n);
  });

  test("over maxPatchBodyBytes, declared or as it arrives, a body goes on untouched, counted", async () => {
    const host = await hostWithRules(RESPONSES.text, { config: { ...CONFIG, maxPatchBodyBytes: 16 } });
    const big = `{"pad":"${"x".repeat(40)}"}`;
    const declared = patched(host, [...JSON_HEADERS, ["content-length", String(big.length)]], [big]);
    expect([
      declared.responseBody.sent,
      header(declared.responseHeadersSent ?? [], "content-length"),
    ]).toEqual([big, String(big.length)]);
    const chunked = patched(host, JSON_HEADERS, [big.slice(0, 10), big.slice(10, 30), big.slice(30)]);
    expect(chunked.responseBody.sent).toBe(big);
    expect(chunked.responseBody.actions).toEqual([
      DataAction.StopIterationAndBuffer,
      DataAction.Continue,
      DataAction.Continue,
    ]);
    expect(host.metric("hfi.faults.patches_skipped_oversize_total")?.value).toBe(2n);
  });

  test("a maxPatchBodyBytes out of range refuses the plugin configuration", async () => {
    const host = await ProxyWasmHost.load(WASM, {
      pluginConfig: JSON.stringify({ ...CONFIG, maxPatchBodyBytes: 0 }),
    });
    expect(host.start()).toBe(false);
    expect(
      host.logs.some((l) => l.message.includes("maxPatchBodyBytes: expected an integer 1..1048576")),
    ).toBe(true);
  });
});

describe("the response part of a rule set", () => {
  const at = RESPONSES.ruleSet.rules.findIndex((r) => r.name === "stale-cache");
  const withRule = (edit: (rule: Record<string, unknown>) => void) => {
    const bad = structuredClone(RESPONSES.ruleSet) as unknown as {
      revision: number;
      rules: Record<string, unknown>[];
    };
    bad.revision += 1;
    edit(bad.rules[at] as Record<string, unknown>);
    return JSON.stringify(bad);
  };
  const fault = (rule: Record<string, unknown>) => rule.fault as Record<string, Record<string, unknown>>;

  test.each([
    [
      "a status of 204",
      (r: Record<string, unknown>) => {
        fault(r).response!.status = 204;
      },
      `rules[${at}].fault.response.status: expected an integer 200..599 but 204 and 304`,
    ],
    [
      "a pseudo-header to set",
      (r: Record<string, unknown>) => {
        fault(r).response!.setHeaders = [{ name: ":status", value: "200" }];
      },
      `rules[${at}].fault.response.setHeaders[0]: expected {name, value}`,
    ],
    [
      "an upper-case name to remove",
      (r: Record<string, unknown>) => {
        fault(r).response!.removeHeaders = ["ETag"];
      },
      `rules[${at}].fault.response.removeHeaders[0]: expected a lower-case header name`,
    ],
    [
      "an abort beside it",
      (r: Record<string, unknown>) => {
        fault(r).abort = { httpStatus: 503, body: "" };
      },
      `rules[${at}].fault.response: expected no response fault beside an abort`,
    ],
    [
      "an empty status list",
      (r: Record<string, unknown>) => {
        ((r.match as Record<string, Record<string, unknown>>).response as Record<string, unknown>).statuses =
          [];
      },
      `rules[${at}].match.response.statuses: expected a non-empty array`,
    ],
    [
      "a range upside down",
      (r: Record<string, unknown>) => {
        ((r.match as Record<string, Record<string, unknown>>).response as Record<string, unknown>).statuses =
          [{ min: 300, max: 200 }];
      },
      `rules[${at}].match.response.statuses[0]: expected {min, max}`,
    ],
    [
      "a response delay out of range",
      (r: Record<string, unknown>) => {
        fault(r).response!.delay = { fixedDelayMs: 0 };
      },
      `rules[${at}].fault.response.delay.fixedDelayMs: expected an integer 1..3600000`,
    ],
  ])("%s fails the rule set, naming the field, and the old rules stay", async (_, edit, message) => {
    const host = await hostWithRules(RESPONSES.text);
    pushRules(host, withRule(edit));
    expect(rejection(host)).toContain(message);
    expect(host.metric("hfi.config.revision")?.value).toBe(BigInt(RESPONSES.ruleSet.revision));
    expect(header(respond(host, "/api/catalog/1", JSON_200).sent, "x-hfi-fault")).toBe("stale-cache");
  });
});
