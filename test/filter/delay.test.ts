/**
 * Delays through the compiled filter with Envoy's timer simulated (`runFor`): pause and resume at the
 * deadline, the adaptive tick, delay-then-abort, a client that resets mid-delay, the cap on
 * concurrent delays, in-flight requests keeping their rule across updates — and released at once when
 * a halt or a deletion withdraws it — and the delay metrics.
 */
import { describe, expect, test } from "bun:test";
import { Action, type ProxyWasmHost, type Stream } from "../proxy-wasm-host/index.ts";
import {
  CONFIG,
  fixture,
  header,
  hostWithRules,
  pushRules,
  req,
  ruleNamed,
  WITHOUT_OBSERVATIONS,
} from "../support/filter-host.ts";

const CASES = fixture("filter-cases.ruleset.json");
const NS_PER_MS = 1_000_000n;
const delayOf = (name: string) => {
  const delay = ruleNamed(CASES.ruleSet, name).fault.delay;
  if (!delay || !("fixedDelayMs" in delay)) throw new Error(`${name} has no fixed delay`);
  return delay.fixedDelayMs;
};

const elapsedMs = (host: ProxyWasmHost, stream: Stream, fromNs: bigint) =>
  Number((stream.continuedAtNs ?? stream.localResponseAtNs ?? host.nowNs) - fromNs) / 1e6;

const gauge = (host: ProxyWasmHost) => host.metric("hfi.faults.delays_active")?.value;

describe("delay", () => {
  test("pauses a matching POST for its delay and resumes it at the deadline; GET passes at once", async () => {
    const host = await hostWithRules(CASES.text, WITHOUT_OBSERVATIONS);
    const get = host.request(req("GET", "/delay/post"));
    expect(get.action).toBe(Action.Continue);

    const start = host.nowNs;
    const post = host.request(req("POST", "/delay/post/1"));
    expect(post.action).toBe(Action.Pause);
    expect(host.tickPeriodMs).toBe(delayOf("delay-post"));
    host.runFor(delayOf("delay-post") - 1);
    expect(post.continued).toBe(false);
    host.runFor(1);
    expect(post.continued).toBe(true);
    expect(elapsedMs(host, post, start)).toBe(delayOf("delay-post"));
    expect(post.localResponse).toBeUndefined();
    // Nothing pending and the poll in flight: the timer is off.
    expect(host.tickPeriodMs).toBe(0);
    expect(host.strayCalls).toEqual([]);
  });

  test("each request resumes at its own deadline, never early and within 1 ms, in any arrival order", async () => {
    const host = await hostWithRules(CASES.text);
    const paths = ["/delay/post", "/delay/short", "/delay/post", "/delay/short"];
    const started: { stream: Stream; at: bigint; delayMs: number }[] = [];
    for (let i = 0; i < 200; i++) {
      const path = paths[i % paths.length]!;
      const at = host.nowNs;
      started.push({
        stream: host.request(req("POST", path)),
        at,
        delayMs: path === "/delay/post" ? 2000 : 10,
      });
      host.runFor(0.37 * (i % 7));
    }
    host.runFor(2_100);
    for (const { stream, at, delayMs } of started) {
      expect(stream.continued).toBe(true);
      const waited = elapsedMs(host, stream, at);
      expect(waited).toBeGreaterThanOrEqual(delayMs);
      expect(waited).toBeLessThan(delayMs + 1);
    }
    expect(host.tickPeriodMs).toBe(0);
  });

  test("the tick period is re-set only when a deadline comes due before the armed timer, not per request", async () => {
    const host = await hostWithRules(CASES.text, WITHOUT_OBSERVATIONS);
    const before = host.tickSets.length;
    for (let i = 0; i < 100; i++) {
      host.request(req("POST", "/delay/post"));
      host.runFor(1);
    }
    // Later deadlines than the armed one: the first request armed the timer, the others left it.
    expect(host.tickSets.length - before).toBe(1);
    const short = host.request(req("GET", "/delay/short"));
    expect(host.tickSets.length - before).toBe(2);
    expect(host.tickPeriodMs).toBe(delayOf("delay-short"));
    host.runFor(delayOf("delay-short"));
    expect(short.continued).toBe(true);
    host.runFor(3_000);
    expect(host.tickPeriodMs).toBe(0);
    // Every tick that fired had something due: no idle ticks while waiting for the 2 s deadlines.
    expect(host.count("proxy_continue_stream")).toBe(101);
  });

  test("delay then abort: the reply comes after the delay, with status, body and x-hfi-fault", async () => {
    const host = await hostWithRules(CASES.text);
    const rule = ruleNamed(CASES.ruleSet, "delay-then-abort");
    const start = host.nowNs;
    const stream = host.request(req("GET", "/delay/abort"));
    expect(stream.action).toBe(Action.Pause);
    expect(stream.localResponse).toBeUndefined();
    host.runFor(delayOf("delay-then-abort"));
    expect(stream.localResponse).toMatchObject({
      status: rule.fault.abort!.httpStatus,
      body: "late failure",
    });
    expect(header(stream.localResponse!.headers, "x-hfi-fault")).toBe("delay-then-abort");
    expect(stream.localResponse!.grpcStatus).toBe(-1);
    expect(stream.continued).toBe(false);
    expect(elapsedMs(host, stream, start)).toBe(delayOf("delay-then-abort"));
    expect(host.metric("hfi.faults.aborts_total")?.value).toBe(1n);
    expect(host.metric("hfi.faults.delays_total")?.value).toBe(1n);
  });

  test("a client that resets mid-delay is dropped: never resumed, no leak, gauge and timer back to idle", async () => {
    const host = await hostWithRules(CASES.text);
    const streams = [0, 1, 2].map(() => host.request(req("POST", "/delay/post")));
    expect(gauge(host)).toBe(3n);
    host.runFor(1_000);
    host.finish(streams[1]!);
    expect(gauge(host)).toBe(2n);
    host.runFor(1_000);
    expect(streams.map((s) => s.continued)).toEqual([true, false, true]);
    expect(host.strayCalls).toEqual([]);
    expect(gauge(host)).toBe(0n);

    const alone = host.request(req("POST", "/delay/post"));
    host.runFor(10);
    host.finish(alone);
    expect(host.tickPeriodMs).toBe(0);
    host.runFor(5_000);
    expect(host.strayCalls).toEqual([]);
    expect(host.metric("hfi.faults.delay_duration_milliseconds")?.samples).toEqual([2000n, 2000n]);
  });

  test("a stream the host forgot without on_done is not acted on", async () => {
    const host = await hostWithRules(CASES.text);
    const stream = host.request(req("POST", "/delay/post"));
    host.forget(stream);
    host.runFor(2_000);
    expect(stream.continued).toBe(false);
    expect(host.strayCalls).toEqual([]);
    expect(gauge(host)).toBe(0n);
  });

  test("past maxActiveDelays, requests pass un-delayed and count in hfi.faults.overflow_total", async () => {
    const host = await hostWithRules(CASES.text, { config: { ...CONFIG, maxActiveDelays: 2 } });
    const [a, b, c] = [0, 1, 2].map(() => host.request(req("POST", "/delay/post")));
    expect([a, b, c].map((s) => s!.action)).toEqual([Action.Pause, Action.Pause, Action.Continue]);
    expect(host.metric("hfi.faults.overflow_total")?.value).toBe(1n);
    expect(host.metric("hfi.faults.delays_total")?.value).toBe(2n);
    // Delay-then-abort past the cap passes as a whole, like Envoy's max_active_faults.
    const abortable = host.request(req("GET", "/delay/abort"));
    expect(abortable.action).toBe(Action.Continue);
    expect(abortable.localResponse).toBeUndefined();
    host.finish(a!);
    expect(host.request(req("POST", "/delay/post")).action).toBe(Action.Pause);
  });

  test("a paused request whose policy stays finishes under the rule it started with; new requests see the new rules", async () => {
    const host = await hostWithRules(CASES.text);
    const stream = host.request(req("GET", "/delay/abort"));
    const changed = structuredClone(CASES.ruleSet);
    changed.revision = 8;
    const rule = changed.rules.find((r) => r.name === "delay-then-abort")!;
    rule.match.path = { type: "prefix", value: "/delay/elsewhere" };
    rule.fault = { percentageMillionths: 1_000_000, delay: { fixedDelayMs: 5_000 } };
    pushRules(host, JSON.stringify(changed));
    expect(host.metric("hfi.config.revision")?.value).toBe(8n);
    expect(host.request(req("GET", "/delay/abort")).action).toBe(Action.Continue);
    host.runFor(delayOf("delay-then-abort") - 1);
    expect([stream.continued, stream.localResponse]).toEqual([false, undefined]);
    host.runFor(1);
    expect(stream.localResponse?.status).toBe(503);
  });

  test("a halt releases every paused request at once: delays continue, delay-then-abort continues unanswered", async () => {
    const host = await hostWithRules(CASES.text, WITHOUT_OBSERVATIONS);
    const delayed = [0, 1, 2].map(() => host.request(req("POST", "/delay/post")));
    const abortable = host.request(req("GET", "/delay/abort"));
    const paused = [...delayed, abortable];
    host.runFor(100);
    expect(paused.map((s) => s.continued)).toEqual([false, false, false, false]);
    const haltedAt = host.nowNs;
    pushRules(host, JSON.stringify({ ...CASES.ruleSet, revision: 8, halted: true }));
    for (const stream of paused) {
      expect([stream.continued, stream.continuedAtNs, stream.localResponse]).toEqual([
        true,
        haltedAt,
        undefined,
      ]);
    }
    // A released delay-then-abort reaches the upstream marked as delayed, like a delay alone.
    expect(header(abortable.requestHeaders, "x-hfi-fault")).toBe("delay-then-abort;delay=500");
    expect(gauge(host)).toBe(0n);
    expect(host.metric("hfi.faults.delay_duration_milliseconds")?.samples).toEqual([100n, 100n, 100n, 100n]);
    expect(host.metric("hfi.faults.aborts_total")?.value).toBe(0n);
    expect(host.tickPeriodMs).toBe(0);
    host.runFor(5_000);
    expect(host.strayCalls).toEqual([]);
    expect(abortable.localResponse).toBeUndefined();
    expect(host.count("proxy_continue_stream")).toBe(4);
    // Streams ending after their release are no-ops for the queue.
    for (const stream of paused) host.finish(stream);
    expect(gauge(host)).toBe(0n);
  });

  test("deleting a policy, or turning it into a dry run, releases its paused requests; other policies keep theirs", async () => {
    const host = await hostWithRules(CASES.text);
    const post = host.request(req("POST", "/delay/post"));
    const abortable = host.request(req("GET", "/delay/abort"));
    const short = host.request(req("GET", "/delay/short"));
    const withoutPost = structuredClone(CASES.ruleSet);
    withoutPost.revision = 8;
    withoutPost.rules = withoutPost.rules.filter((r) => r.name !== "delay-post");
    for (const r of withoutPost.rules) if (r.name === "delay-then-abort") r.dryRun = true;
    pushRules(host, JSON.stringify(withoutPost));
    expect([post.continued, abortable.continued, short.continued]).toEqual([true, true, false]);
    expect(abortable.localResponse).toBeUndefined();
    expect(gauge(host)).toBe(1n);
    host.runFor(delayOf("delay-short"));
    expect(short.continued).toBe(true);
    expect(host.strayCalls).toEqual([]);
  });

  test("a rejected rule set releases nothing", async () => {
    const host = await hostWithRules(CASES.text);
    const stream = host.request(req("POST", "/delay/post"));
    pushRules(host, JSON.stringify({ format: 1, revision: 8, halted: "yes", rules: [] }));
    expect(host.metric("hfi.config.errors_total")?.value).toBe(1n);
    expect(stream.continued).toBe(false);
    host.runFor(delayOf("delay-post"));
    expect(stream.continued).toBe(true);
  });

  test("delays_total, delays_active (± per worker) and the delay duration histogram", async () => {
    const host = await hostWithRules(CASES.text);
    host.request(req("GET", "/delay/short"));
    host.request(req("POST", "/delay/post"));
    expect(host.metric("hfi.faults.delays_total")?.value).toBe(2n);
    expect(gauge(host)).toBe(2n);
    host.runFor(10);
    expect(gauge(host)).toBe(1n);
    host.runFor(2_000);
    expect(gauge(host)).toBe(0n);
    expect(host.metric("hfi.faults.delay_duration_milliseconds")?.samples).toEqual([10n, 2000n]);
  });

  test("a 50% delay pauses about half of 2000 requests (5-sigma binomial bound)", async () => {
    const host = await hostWithRules(CASES.text, { randomSeed: 12345 });
    const n = 2000;
    let paused = 0;
    for (let i = 0; i < n; i++) {
      const stream = host.request(req("GET", "/delay/half"));
      if (stream.action === Action.Pause) paused++;
      host.finish(stream);
    }
    expect(Math.abs(paused - n / 2)).toBeLessThan(5 * Math.sqrt(n / 4));
    expect(gauge(host)).toBe(0n);
  });

  test("when the plugin goes away, paused requests are released, not stranded", async () => {
    const host = await hostWithRules(CASES.text);
    const stream = host.request(req("POST", "/delay/post"));
    host.runFor(100);
    host.shutdown();
    expect(stream.continued).toBe(true);
    expect(host.tickPeriodMs).toBe(0);
    expect(host.strayCalls).toEqual([]);
  });

  test("one timer serves both a poll retry and the delays, each on time", async () => {
    const host = await hostWithRules(CASES.text, WITHOUT_OBSERVATIONS);
    host.respond(host.httpCalls[0]!.token, { status: 503 });
    expect(host.httpCalls).toHaveLength(0);
    const retryAt = host.nextTickAtNs!;
    const start = host.nowNs;
    const short = host.request(req("GET", "/delay/short"));
    const long = host.request(req("POST", "/delay/post"));
    host.runFor(2_500);
    expect(host.httpCalls).toHaveLength(1);
    expect(elapsedMs(host, short, start)).toBe(delayOf("delay-short"));
    expect(elapsedMs(host, long, start)).toBe(delayOf("delay-post"));
    expect(retryAt).toBeGreaterThan(start);
  });

  test("deadlines use the monotonic clock: a wall-clock jump changes nothing", async () => {
    const host = await hostWithRules(CASES.text);
    const stream = host.request(req("GET", "/delay/short"));
    host.realtimeMs += 3_600_000;
    host.tick();
    expect(stream.continued).toBe(false);
    host.runFor(10);
    expect(stream.continued).toBe(true);
    expect(stream.continuedAtNs).toBeDefined();
    expect(host.nowNs % NS_PER_MS).toBe(0n);
  });
});
