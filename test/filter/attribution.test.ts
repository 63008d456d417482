/**
 * The filter's side of attribution and identity: who polls (node and worker ids on the long-poll), the bearer token, and what
 * a fault leaves behind — per-policy counters, the `x-hfi-fault` request header of a delayed request
 * and the `hfi_policy` filter state.
 */
import { describe, expect, test } from "bun:test";
import type { RuleSet } from "../../src/ruleset/format.ts";
import { SUBSCRIBER_QUERY } from "../../src/ruleset/format.ts";
import { Action, type HttpCall, ProxyWasmHost, type Stream } from "../proxy-wasm-host/index.ts";
import {
  CONFIG,
  fixture,
  header,
  hostWithRules,
  nextPoll,
  pushRules,
  req,
  startedHost,
  WASM,
} from "../support/filter-host.ts";

const BASIC = fixture("basic.ruleset.json");
const CASES = fixture("filter-cases.ruleset.json");
const EXPERIMENTS = fixture("experiments.ruleset.json");
/** The plugin set to name the faulting policy in the `hfi_policy` filter state (off by default). */
const NAMED = { ...CONFIG, filterState: true };
const NODE_ID = "sidecar~10.0.0.7~checkout-7d9f/b 1.shop~shop.svc.cluster.local";

const query = (call: HttpCall) => new URL(`http://cp${header(call.headers, ":path")}`).searchParams;
const counter = (host: ProxyWasmHost, name: string) => host.metric(name)?.value;
const policy = (name: string, kind: string) => `hfi.policy.${name}.${kind}`;

describe("subscriber identity", () => {
  test("every poll names Envoy's node id (URL-encoded) and the worker id drawn at start", async () => {
    const host = await startedHost(CONFIG, 7, { "xds.node.id": NODE_ID });
    const first = nextPoll(host);
    const path = header(first.headers, ":path")!;
    expect(path).toContain(`&node=${encodeURIComponent(NODE_ID)}&`);
    expect(path).not.toContain(" ");
    const params = query(first);
    expect(params.get(SUBSCRIBER_QUERY.node)).toBe(NODE_ID);
    const worker = params.get(SUBSCRIBER_QUERY.worker)!;
    expect(worker).toMatch(/^[0-9a-f]{16}$/);
    host.respond(first.token, { status: 200, body: BASIC.text });
    const second = host.httpCalls[0]!;
    // after=N acknowledges revision N, from the same subscriber.
    expect(query(second).get("after")).toBe(String(BASIC.ruleSet.revision));
    expect(query(second).get(SUBSCRIBER_QUERY.worker)).toBe(worker);
    expect(query(second).get(SUBSCRIBER_QUERY.node)).toBe(NODE_ID);
  });

  test("each VM draws its own worker id; the node id is read after _initialize, in on_configure", async () => {
    const workers = new Set<string>();
    for (const seed of [1, 2, 3, 4]) {
      const host = await ProxyWasmHost.load(WASM, {
        pluginConfig: JSON.stringify(CONFIG),
        randomSeed: seed,
        properties: { "xds.node.id": "n1" },
      });
      expect(host.count("proxy_get_property")).toBe(0);
      expect(host.start()).toBe(true);
      expect(host.count("proxy_get_property")).toBeGreaterThan(0);
      workers.add(query(nextPoll(host)).get(SUBSCRIBER_QUERY.worker)!);
    }
    expect(workers.size).toBe(4);
  });

  test("Envoy 1.40 serves xds.node.id; node.id (older Envoys) is the fallback", async () => {
    const both = await startedHost(CONFIG, undefined, { "xds.node.id": "new", "node.id": "old" });
    expect(query(nextPoll(both)).get(SUBSCRIBER_QUERY.node)).toBe("new");
    const legacy = await startedHost(CONFIG, undefined, { "node.id": "old" });
    expect(query(nextPoll(legacy)).get(SUBSCRIBER_QUERY.node)).toBe("old");
  });

  test("the workload identity comes from Istio's node metadata: WORKLOAD_NAME, NAMESPACE, LABELS, and the node cluster", async () => {
    const host = await startedHost(CONFIG, undefined, {
      "xds.node.id": "sidecar~10.0.0.7~reviews-v1-abc.shop~shop.svc.cluster.local",
      "xds.node.cluster": "reviews.shop",
      "xds.node.metadata.WORKLOAD_NAME": "reviews-v1",
      "xds.node.metadata.NAMESPACE": "shop",
      "xds.node.metadata.LABELS": { app: "reviews", version: "v1" },
    });
    const params = query(nextPoll(host));
    expect(params.get(SUBSCRIBER_QUERY.cluster)).toBe("reviews.shop");
    expect(params.get(SUBSCRIBER_QUERY.service)).toBe("reviews-v1");
    expect(params.get(SUBSCRIBER_QUERY.namespace)).toBe("shop");
    expect(params.get(SUBSCRIBER_QUERY.labels)).toBe("app=reviews,version=v1");
  });

  test("service, namespace and labels of the plugin configuration each win over the node metadata", async () => {
    const metadata = {
      "xds.node.metadata.WORKLOAD_NAME": "from-metadata",
      "xds.node.metadata.NAMESPACE": "meta-ns",
      "xds.node.metadata.LABELS": { app: "meta" },
    };
    const all = await startedHost(
      { ...CONFIG, service: "checkout", namespace: "shop", labels: { app: "checkout", tier: "web" } },
      undefined,
      metadata,
    );
    const params = query(nextPoll(all));
    expect(params.get(SUBSCRIBER_QUERY.service)).toBe("checkout");
    expect(params.get(SUBSCRIBER_QUERY.namespace)).toBe("shop");
    expect(params.get(SUBSCRIBER_QUERY.labels)).toBe("app=checkout,tier=web");
    // Field by field: what the configuration leaves out comes from the metadata.
    const some = await startedHost({ ...CONFIG, service: "checkout" }, undefined, metadata);
    const mixed = query(nextPoll(some));
    expect(mixed.get(SUBSCRIBER_QUERY.service)).toBe("checkout");
    expect(mixed.get(SUBSCRIBER_QUERY.namespace)).toBe("meta-ns");
    expect(mixed.get(SUBSCRIBER_QUERY.labels)).toBe("app=meta");
  });

  test("without identity the poll carries none; LABELS that is not a map and oversized values never break a poll", async () => {
    const bare = query(nextPoll(await startedHost()));
    for (const name of ["cluster", "service", "namespace", "labels"] as const) {
      expect(bare.has(SUBSCRIBER_QUERY[name])).toBe(false);
    }
    const labels = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, "v".repeat(1000)]));
    const odd = await startedHost(CONFIG, undefined, {
      "xds.node.metadata.WORKLOAD_NAME": "s".repeat(5000),
      "xds.node.metadata.LABELS": "not a map",
    });
    const oddParams = query(nextPoll(odd));
    expect(oddParams.get(SUBSCRIBER_QUERY.service)).toBe("s".repeat(253));
    expect(oddParams.has(SUBSCRIBER_QUERY.labels)).toBe(false);
    const many = await startedHost({ ...CONFIG, labels }, undefined);
    const sent = query(nextPoll(many)).get(SUBSCRIBER_QUERY.labels)!.split(",");
    expect(sent).toHaveLength(64);
    expect(sent[0]).toBe(`k0=${"v".repeat(253)}`);
  });

  test.each([
    ["service", ""],
    ["namespace", 7],
    ["labels", ["a"]],
    ["labels", { app: 1 }],
  ])("a plugin configuration whose %s is %p is refused", async (field, value) => {
    const host = await ProxyWasmHost.load(WASM, {
      pluginConfig: JSON.stringify({ ...CONFIG, [field]: value }),
    });
    expect(host.start()).toBe(false);
    expect(host.logs.at(-1)?.message).toContain(`${field}`);
  });

  test('without a node id (or an empty one) the node is "unknown"', async () => {
    const cases: (Record<string, string> | undefined)[] = [
      undefined,
      { "xds.node.id": "" },
      { "xds.node.id": "", "node.id": "" },
    ];
    for (const properties of cases) {
      const host = await startedHost(CONFIG, undefined, properties);
      expect(query(nextPoll(host)).get(SUBSCRIBER_QUERY.node)).toBe("unknown");
    }
  });
});

describe("bearer token", () => {
  const TOKEN = "r3ader-T0ken.abc";

  test("with a token every poll sends authorization: Bearer <token>; without, no authorization", async () => {
    const host = await startedHost({ ...CONFIG, token: TOKEN });
    const poll = nextPoll(host);
    expect(header(poll.headers, "authorization")).toBe(`Bearer ${TOKEN}`);
    host.respond(poll.token, { status: 200, body: BASIC.text });
    expect(header(host.httpCalls[0]!.headers, "authorization")).toBe(`Bearer ${TOKEN}`);
    const anonymous = await startedHost();
    expect(header(nextPoll(anonymous).headers, "authorization")).toBeUndefined();
  });

  test("a 401 or 403 is retried with backoff and logged with a hint, never with the token", async () => {
    const host = await startedHost({ ...CONFIG, token: TOKEN });
    host.respond(nextPoll(host).token, { status: 401, body: '{"error":{"code":"Unauthenticated"}}' });
    expect(host.logs.at(-1)?.message).toMatch(/status 401, the token was refused/);
    expect(host.httpCalls).toHaveLength(0);
    host.respond(nextPoll(host).token, { status: 403 });
    const anonymous = await startedHost();
    anonymous.respond(nextPoll(anonymous).token, { status: 401 });
    expect(anonymous.logs.at(-1)?.message).toMatch(/status 401, no token configured/);
    for (const { message } of host.logs) expect(message).not.toContain(TOKEN);
  });

  test.each([
    ["empty", ""],
    ["a number", 42],
    ["with a space", "abc def"],
    ["with a newline", "abc\ndef"],
  ])("a token that is %s is refused without echoing it", async (_, token) => {
    const host = await ProxyWasmHost.load(WASM, { pluginConfig: JSON.stringify({ ...CONFIG, token }) });
    expect(host.start()).toBe(false);
    const message = host.logs.at(-1)?.message ?? "";
    expect(message).toContain("token: expected a non-empty string of visible ASCII");
    if (typeof token === "string" && token !== "") expect(message).not.toContain(token);
  });
});

describe("attribution", () => {
  test("per-policy counters exist (at 0) once the rule set is applied, for the faults each policy has", async () => {
    const host = await hostWithRules(CASES.text);
    expect(counter(host, policy("order-regex", "aborts_total"))).toBe(0n);
    expect(counter(host, policy("delay-post", "delays_total"))).toBe(0n);
    expect(counter(host, policy("delay-then-abort", "delays_total"))).toBe(0n);
    expect(counter(host, policy("delay-then-abort", "aborts_total"))).toBe(0n);
    expect(host.metric(policy("order-regex", "delays_total"))).toBeUndefined();
    expect(host.metric(policy("delay-post", "aborts_total"))).toBeUndefined();
    expect(host.metric(policy("delay-post", "dryrun_matches_total"))).toBeUndefined();
    const dry = await hostWithRules(EXPERIMENTS.text);
    expect(counter(dry, policy("catalog-dry-run", "dryrun_matches_total"))).toBe(0n);
    expect(dry.metric(policy("catalog-dry-run", "delays_total"))).toBeUndefined();
  });

  test("an abort counts for its policy and names it in the response header and the filter state", async () => {
    const host = await hostWithRules(BASIC.text, { config: NAMED });
    const stream = host.request(req("POST", "/api/checkout/pay"));
    expect(stream.localResponse?.status).toBe(503);
    expect(header(stream.localResponse!.headers, "x-hfi-fault")).toBe("checkout-abort");
    expect(stream.filterState.get("wasm.hfi_policy")).toBe("checkout-abort");
    expect(counter(host, policy("checkout-abort", "aborts_total"))).toBe(1n);
    expect(counter(host, "hfi.faults.aborts_total")).toBe(1n);
    const passed = host.request(req("GET", "/api/checkout/pay"));
    expect([passed.localResponse, passed.filterState.size]).toEqual([undefined, 0]);
  });

  test("without filterState in the plugin configuration, no fault sets a filter state: no proxy_set_property at all", async () => {
    const host = await hostWithRules(CASES.text);
    const delayed = host.request(req("POST", "/delay/post/1"));
    host.runFor(2_000);
    expect(delayed.continued).toBe(true);
    expect([delayed.filterState.size, host.count("proxy_set_property")]).toEqual([0, 0]);
    const basic = await hostWithRules(BASIC.text);
    const aborted = basic.request(req("POST", "/api/checkout"));
    expect(aborted.localResponse?.status).toBe(503);
    expect([aborted.filterState.size, basic.count("proxy_set_property")]).toEqual([0, 0]);
  });

  test("a filterState that is not a boolean fails the plugin configuration", async () => {
    const host = await ProxyWasmHost.load(WASM, {
      pluginConfig: JSON.stringify({ ...CONFIG, filterState: "yes" }),
    });
    expect(host.start()).toBe(false);
    expect(host.logs.some((l) => l.message.includes("filterState: expected a boolean"))).toBe(true);
  });

  test("a delayed request reaches the upstream with x-hfi-fault: <policy>;delay=<ms>, replacing a client's", async () => {
    const host = await hostWithRules(CASES.text, { config: NAMED });
    const stream = host.request(req("POST", "/delay/post/1", [["x-hfi-fault", "forged"]]));
    expect(stream.action).toBe(Action.Pause);
    expect(stream.filterState.get("wasm.hfi_policy")).toBe("delay-post");
    host.runFor(2_000);
    expect(stream.continued).toBe(true);
    expect(stream.requestHeaders.filter(([k]) => k === "x-hfi-fault")).toEqual([
      ["x-hfi-fault", "delay-post;delay=2000"],
    ]);
    expect(counter(host, policy("delay-post", "delays_total"))).toBe(1n);
    expect(host.strayCalls).toEqual([]);
  });

  test("a client's own x-hfi-fault never reaches the upstream, whatever the rules decide", async () => {
    const forged = (path: string, method = "GET") =>
      req(method, path, [
        ["X-HFI-Fault", "ab;delay=999"],
        ["x-other", "kept"],
        ["x-hfi-fault", "again"],
      ]);
    const unmarked = (stream: Stream) => {
      expect(stream.requestHeaders.filter(([k]) => k.toLowerCase() === "x-hfi-fault")).toEqual([]);
      expect(header(stream.requestHeaders, "x-other")).toBe("kept");
    };
    const noRulesYet = await startedHost();
    unmarked(noRulesYet.request(forged("/api/checkout", "POST")));
    const host = await hostWithRules(EXPERIMENTS.text);
    unmarked(host.request(forged("/nothing/matches")));
    const dryRun = host.request(forged("/api/catalog"));
    expect(counter(host, policy("catalog-dry-run", "dryrun_matches_total"))).toBe(1n);
    unmarked(dryRun);
    pushRules(host, JSON.stringify({ ...EXPERIMENTS.ruleSet, revision: 99, halted: true }));
    unmarked(host.request(forged("/api/checkout")));
    const sampled = await hostWithRules(CASES.text, { randomSeed: 5 });
    for (let i = 0; i < 20; i++) {
      const stream = sampled.request(forged("/delay/half"));
      if (stream.action === Action.Continue) unmarked(stream);
    }
  });

  test("stripping removes only what is there: no hostcall once the request is read, one lookup otherwise", async () => {
    const host = await hostWithRules(CASES.text);
    // The subscriber reads `:status` of its polls with the same hostcall: count from here.
    const lookups = host.count("proxy_get_header_map_value");
    for (let i = 0; i < 10; i++) host.finish(host.request(req("GET", `/nothing/${i}`)));
    // Removing makes Envoy match the route again: never done for a header that is not there.
    expect([host.count("proxy_remove_header_map_value"), host.count("proxy_get_header_map_value")]).toEqual([
      0,
      lookups,
    ]);
    host.request(req("GET", "/nothing", [["x-hfi-fault", "forged"]]));
    expect(host.count("proxy_remove_header_map_value")).toBe(1);
    // No rule needed the request (none yet): one value lookup instead of reading it.
    const unread = await startedHost();
    for (let i = 0; i < 10; i++) unread.finish(unread.request(req("GET", `/nothing/${i}`)));
    expect([
      unread.count("proxy_get_header_map_value"),
      unread.count("proxy_remove_header_map_value"),
      unread.count("proxy_get_header_map_pairs"),
    ]).toEqual([10, 0, 0]);
    unread.request(req("GET", "/nothing", [["x-hfi-fault", "forged"]]));
    expect([
      unread.count("proxy_get_header_map_value"),
      unread.count("proxy_remove_header_map_value"),
    ]).toEqual([11, 1]);
  });

  test("delay then abort: both counters of the policy, the abort header, no request header", async () => {
    const host = await hostWithRules(CASES.text, { config: NAMED });
    const stream = host.request(req("GET", "/delay/abort"));
    host.runFor(500);
    expect(stream.localResponse?.status).toBe(503);
    expect(header(stream.localResponse!.headers, "x-hfi-fault")).toBe("delay-then-abort");
    expect(header(stream.requestHeaders, "x-hfi-fault")).toBeUndefined();
    expect(stream.filterState.get("wasm.hfi_policy")).toBe("delay-then-abort");
    expect(counter(host, policy("delay-then-abort", "delays_total"))).toBe(1n);
    expect(counter(host, policy("delay-then-abort", "aborts_total"))).toBe(1n);
  });

  test("a request not delayed (over maxActiveDelays, or not sampled) carries no mark", async () => {
    const host = await hostWithRules(CASES.text, { config: { ...NAMED, maxActiveDelays: 0 } });
    const stream = host.request(req("POST", "/delay/post"));
    expect(stream.action).toBe(Action.Continue);
    expect([header(stream.requestHeaders, "x-hfi-fault"), stream.filterState.size]).toEqual([undefined, 0]);
    expect(counter(host, policy("delay-post", "delays_total"))).toBe(0n);
    const sampled = await hostWithRules(CASES.text, { randomSeed: 5, config: NAMED });
    let delayed = 0;
    for (let i = 0; i < 200; i++) {
      const s = sampled.request(req("GET", "/delay/half"));
      const marked = s.filterState.has("wasm.hfi_policy");
      expect(marked).toBe(s.action === Action.Pause);
      if (marked) delayed++;
    }
    expect(delayed).toBeGreaterThan(50);
    expect(counter(sampled, policy("delay-half", "delays_total"))).toBe(BigInt(delayed));
  });

  test("a dry-run match counts and leaves no mark on the request", async () => {
    const host = await hostWithRules(EXPERIMENTS.text, { config: NAMED });
    const stream = host.request(req("GET", "/api/catalog"));
    expect([stream.action, stream.filterState.size, header(stream.requestHeaders, "x-hfi-fault")]).toEqual([
      Action.Continue,
      0,
      undefined,
    ]);
    expect(counter(host, policy("catalog-dry-run", "dryrun_matches_total"))).toBe(1n);
  });

  test("a policy deleted and re-created under its name counts on in the same stat: a counter is the name's", async () => {
    const host = await hostWithRules(BASIC.text);
    const abortsOf = () => counter(host, policy("checkout-abort", "aborts_total"));
    host.request(req("POST", "/api/checkout/pay"));
    host.request(req("POST", "/api/checkout/pay"));
    expect(abortsOf()).toBe(2n);
    const without: RuleSet = structuredClone(BASIC.ruleSet);
    without.revision += 1;
    without.rules = without.rules.filter((rule) => rule.name !== "checkout-abort");
    pushRules(host, JSON.stringify(without));
    expect(host.request(req("POST", "/api/checkout/pay")).localResponse).toBeUndefined();
    expect(abortsOf()).toBe(2n);
    pushRules(host, JSON.stringify({ ...BASIC.ruleSet, revision: without.revision + 1 }));
    host.request(req("POST", "/api/checkout/pay"));
    expect(abortsOf()).toBe(3n);
  });

  test("counters are defined once per policy and kind, never on the request path, across rule sets", async () => {
    const host = await hostWithRules(CASES.text);
    const defined = host.count("proxy_define_metric");
    for (let i = 0; i < 50; i++) host.finish(host.request(req("GET", `/orders/${i}`)));
    for (let i = 0; i < 5; i++) host.request(req("POST", "/delay/post"));
    expect(host.count("proxy_define_metric")).toBe(defined);
    pushRules(host, JSON.stringify({ ...CASES.ruleSet, revision: 8 }));
    expect(host.count("proxy_define_metric")).toBe(defined);
    // The same policy turned from abort into delay: only its delays_total is new; its count carries on.
    const changed: RuleSet = structuredClone(CASES.ruleSet);
    changed.revision = 9;
    const rule = changed.rules.find((r) => r.name === "order-regex")!;
    rule.fault = { percentageMillionths: 1_000_000, delay: { fixedDelayMs: 5 } };
    pushRules(host, JSON.stringify(changed));
    expect(host.count("proxy_define_metric")).toBe(defined + 1);
    host.runFor(2_000);
    const before = counter(host, policy("order-regex", "aborts_total"));
    host.request(req("GET", "/orders/77"));
    expect(counter(host, policy("order-regex", "delays_total"))).toBe(1n);
    expect(counter(host, policy("order-regex", "aborts_total"))).toBe(before);
  });
});
