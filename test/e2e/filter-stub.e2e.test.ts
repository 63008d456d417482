/**
 * The filter in the real Envoy 1.40 against a stub control plane that serves what `hfi serve` never
 * would: malformed and oversized rule sets, and precise rule swaps under paused requests. One worker
 * (plus Envoy's main thread: two root contexts), maxActiveDelays 3 so the cap is reachable.
 * Requires scripts/setup.sh and dist/hfi-filter.wasm.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RULESET_FORMAT, type Rule, type RuleSet } from "../../src/ruleset/format.ts";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";
import { type StubControlPlane, startStubControlPlane } from "../support/stub-control-plane.ts";

const MAX_ACTIVE_DELAYS = 3;
/** The worker's root context and the main thread's (docs/FILTER.md): both poll. */
const ROOT_CONTEXTS = 2;

let stub: StubControlPlane;
let stack: LocalStack;
let revision = 0;
beforeAll(async () => {
  stub = startStubControlPlane();
  stack = await startLocalStack({
    concurrency: 1,
    controlPlanePort: stub.port,
    pluginConfig: { maxActiveDelays: MAX_ACTIVE_DELAYS },
  });
}, 30_000);
afterAll(async () => {
  await stack?.stop();
  stub?.stop();
});

const rule = (name: string, path: string, fault: Rule["fault"]): Rule => ({
  name,
  priority: 0,
  match: { path: { type: "prefix", value: path }, headers: [] },
  fault,
});

/** Publishes a RuleSet (or any text) as the next revision; returns that revision. */
function publish(rulesOrText: Rule[] | string, extra: Partial<RuleSet> = {}): number {
  revision++;
  const body =
    typeof rulesOrText === "string"
      ? rulesOrText
      : JSON.stringify({ format: RULESET_FORMAT, revision, ...extra, rules: rulesOrText } satisfies RuleSet);
  stub.publish(body, revision);
  return revision;
}

/** Waits until every root context has received `rev` and polled for what comes after it. */
async function received(rev: number): Promise<void> {
  const deadline = performance.now() + 5_000;
  while (stub.caughtUp(rev) < ROOT_CONTEXTS) {
    if (performance.now() > deadline)
      throw new Error(`revision ${rev} not picked up; polls: ${stub.polls.map((p) => p.path).join(" ")}`);
    await Bun.sleep(20);
  }
}

async function send(path: string, signal?: AbortSignal) {
  const start = performance.now();
  const res = await fetch(`${stack.envoyUrl}${path}`, { headers: { connection: "close" }, signal });
  const body = await res.text();
  return { status: res.status, ms: performance.now() - start, body };
}

async function stat(name: string): Promise<number> {
  const text = await fetch(`${stack.adminUrl}/stats?filter=hfi\\.`).then((r) => r.text());
  return Number(new RegExp(`^wasmcustom\\.${name.replaceAll(".", "\\.")}: (\\d+)$`, "m").exec(text)?.[1]);
}

async function statSoon(name: string, value: number): Promise<void> {
  const deadline = performance.now() + 5_000;
  while ((await stat(name)) !== value) {
    if (performance.now() > deadline) throw new Error(`${name} is ${await stat(name)}, not ${value}`);
    await Bun.sleep(50);
  }
}

const KEPT = rule("kept", "/kept", {
  percentageMillionths: 1_000_000,
  abort: { httpStatus: 503, body: "kept" },
});

describe("bad rule sets", () => {
  test.each([
    ["malformed JSON", () => `{"format":1,"revision":${revision + 1},"rules":[{"name":`],
    [
      "an unknown format",
      () => JSON.stringify({ format: RULESET_FORMAT + 1, revision: revision + 1, rules: [] }),
    ],
    ["a DFA pointing past its last state", () => badDfaRuleSet(revision + 1)],
    [
      "a 5 MiB body",
      () => JSON.stringify({ format: 1, revision: revision + 1, rules: [], pad: "x".repeat(5 << 20) }),
    ],
  ])(
    "%s: Envoy keeps serving with the old rules, counting the error",
    async (_, body) => {
      await received(publish([KEPT]));
      expect((await send("/kept")).status).toBe(503);
      const errorsBefore = await stat("hfi.config.errors_total");
      const bad = publish(body());
      await received(bad);
      expect(await stat("hfi.config.errors_total")).toBeGreaterThanOrEqual(errorsBefore + ROOT_CONTEXTS);
      expect((await send("/kept")).status).toBe(503);
      expect((await send("/elsewhere")).status).toBe(200);
      expect(await stat("hfi.config.revision")).toBe(bad - 1);
    },
    20_000,
  );
});

function badDfaRuleSet(rev: number): string {
  const dfa = { byteClasses: new Array(256).fill(0), classCount: 1, transitions: [5], accepting: [0] };
  return JSON.stringify({
    format: RULESET_FORMAT,
    revision: rev,
    rules: [{ ...KEPT, match: { path: { type: "regex", dfa }, headers: [] } }],
  });
}

describe("halt and dry run", () => {
  test("a halted rule set injects nothing; a dry-run rule only counts", async () => {
    const halted = publish([KEPT], { halted: true });
    await received(halted);
    expect((await send("/kept")).status).toBe(200);
    expect(await stat("hfi.config.revision")).toBe(halted);

    const dry = { ...KEPT, name: "kept-dry", dryRun: true };
    await received(publish([dry]));
    for (let i = 0; i < 3; i++) expect((await send("/kept")).status).toBe(200);
    expect(await stat("hfi.policy.kept-dry.dryrun_matches_total")).toBe(3);
  });
});

describe("paused requests", () => {
  const HANG = rule("hang", "/hang", { percentageMillionths: 1_000_000, delay: { fixedDelayMs: 3_000 } });
  const LATE = rule("late", "/late", {
    percentageMillionths: 1_000_000,
    delay: { fixedDelayMs: 1_000 },
    abort: { httpStatus: 503, body: "late" },
  });

  test("clients that disconnect mid-delay are dropped: delays_active returns to 0 long before the deadline", async () => {
    await received(publish([HANG]));
    const controller = new AbortController();
    const pending = Array.from({ length: MAX_ACTIVE_DELAYS }, () =>
      send("/hang", controller.signal).catch(() => null),
    );
    await statSoon("hfi.faults.delays_active", MAX_ACTIVE_DELAYS);
    const started = performance.now();
    controller.abort();
    await Promise.all(pending);
    await statSoon("hfi.faults.delays_active", 0);
    expect(performance.now() - started).toBeLessThan(2_000);
    // The queue is empty and the thread healthy: the next delay runs its full course.
    const next = await send("/hang");
    expect(next.status).toBe(200);
    expect(next.ms).toBeGreaterThanOrEqual(3_000);
  }, 20_000);

  test("past maxActiveDelays, requests pass un-delayed and count as overflow", async () => {
    await received(publish([HANG]));
    const overflowBefore = await stat("hfi.faults.overflow_total");
    const results = await Promise.all(Array.from({ length: MAX_ACTIVE_DELAYS + 2 }, () => send("/hang")));
    const fast = results.filter((r) => r.ms < 1_000);
    const slow = results.filter((r) => r.ms >= 3_000);
    expect([fast.length, slow.length]).toEqual([2, MAX_ACTIVE_DELAYS]);
    for (const r of results) expect(r.status).toBe(200);
    expect(await stat("hfi.faults.overflow_total")).toBe(overflowBefore + 2);
  }, 20_000);

  test("a paused request whose policy stays finishes under the rule it started with, though the rules changed", async () => {
    await received(publish([LATE]));
    const inFlight = send("/late");
    await statSoon("hfi.faults.delays_active", 1);
    await received(publish([{ ...LATE, match: { path: { type: "prefix", value: "/moved" }, headers: [] } }]));
    const fresh = await send("/late");
    expect(fresh.status).toBe(200);
    expect(fresh.ms).toBeLessThan(1_000);
    const old = await inFlight;
    expect(old.status).toBe(503);
    expect(old.ms).toBeGreaterThanOrEqual(1_000);
  }, 20_000);

  // Paused for a minute: an answer within the test's 20 s can only be a release.
  const HOLD = rule("hold", "/hold", { percentageMillionths: 1_000_000, delay: { fixedDelayMs: 60_000 } });
  const HOLD_ABORT = rule("stall", "/stall", {
    percentageMillionths: 1_000_000,
    delay: { fixedDelayMs: 60_000 },
    abort: { httpStatus: 503, body: "late" },
  });
  /** What the sample upstream echoed of the request's x-hfi-fault. */
  const upstreamMark = (sent: { body: string }) => (JSON.parse(sent.body) as { fault?: string }).fault;

  test("a halted rule set releases every paused request at once, to the upstream, marked as delayed", async () => {
    await received(publish([HOLD, HOLD_ABORT]));
    const held = [send("/hold"), send("/hold"), send("/stall")];
    await statSoon("hfi.faults.delays_active", 3);
    await received(publish([HOLD, HOLD_ABORT], { halted: true }));
    const released = await Promise.all(held);
    expect(released.map((r) => [r.status, upstreamMark(r)])).toEqual([
      [200, "hold;delay=60000"],
      [200, "hold;delay=60000"],
      [200, "stall;delay=60000"],
    ]);
    await statSoon("hfi.faults.delays_active", 0);
  }, 20_000);

  test("a rule set without a policy releases that policy's paused requests; the others stay paused", async () => {
    await received(publish([HOLD, HOLD_ABORT]));
    const hold = send("/hold");
    const holdAbort = send("/stall");
    await statSoon("hfi.faults.delays_active", 2);
    await received(publish([HOLD_ABORT]));
    expect((await hold).status).toBe(200);
    expect(await stat("hfi.faults.delays_active")).toBe(1);
    await received(publish([]));
    const released = await holdAbort;
    expect([released.status, upstreamMark(released)]).toEqual([200, "stall;delay=60000"]);
  }, 20_000);
});

describe("aborts without a body", () => {
  // What the API refuses, sent anyway: the filter must still answer 204 and 304 without a body.
  const withBody = (name: string, httpStatus: number, delayMs?: number) =>
    rule(name, `/${name}`, {
      percentageMillionths: 1_000_000,
      ...(delayMs !== undefined && { delay: { fixedDelayMs: delayMs } }),
      abort: { httpStatus, body: "nope" },
    });
  const RULES = [
    withBody("s204", 204),
    withBody("s304", 304),
    withBody("late304", 304, 20),
    withBody("s503", 503),
  ];
  const REQUESTS: [string, string][] = [
    ["GET", "/s304"],
    ["GET", "/s204"],
    ["GET", "/late304"],
    ["HEAD", "/s503"],
    ["GET", "/s503"],
    ["GET", "/passes"],
  ];

  test("Node's HTTP/1.1 client on one keep-alive connection reads every reply, HEAD included", async () => {
    await received(publish(RULES));
    const run = await spawn(["node", "-e", NODE_KEEP_ALIVE, stack.envoyUrl, JSON.stringify(REQUESTS)]);
    const output = run.stdout;
    expect({ exitCode: run.exitCode, output }).toMatchObject({ exitCode: 0 });
    const replies = JSON.parse(output) as { status: number; body: string; length?: string; port: number }[];
    expect(replies.map((r) => [r.status, r.body, r.length])).toEqual([
      [304, "", undefined],
      [204, "", undefined],
      [304, "", undefined],
      [503, "", "4"],
      [503, "nope", "4"],
      [200, expect.stringContaining('"upstream":"sample"'), expect.any(String)],
    ]);
    expect(new Set(replies.map((r) => r.port)).size).toBe(1);
  });

  test("curl over h2c (prior knowledge) gets every reply, HEAD included", async () => {
    await received(publish(RULES));
    // One curl per request: curl 7.88 fails to reuse an h2c prior-knowledge connection whatever the replies.
    const runs = await Promise.all(
      REQUESTS.map(([method, path]) =>
        spawn([
          "curl",
          "-sS",
          "--http2-prior-knowledge",
          ...(method === "HEAD" ? ["-I"] : []),
          "-o",
          "/dev/null",
          "-w",
          "%{http_version} %{http_code} %{size_download}",
          `${stack.envoyUrl}${path}`,
        ]),
      ),
    );
    expect(runs.map((r) => [r.exitCode, r.stderr, r.stdout])).toEqual([
      [0, "", "2 304 0"],
      [0, "", "2 204 0"],
      [0, "", "2 304 0"],
      [0, "", "2 503 0"],
      [0, "", "2 503 4"],
      [0, "", expect.stringMatching(/^2 200 [1-9]\d*$/)],
    ]);
  });
});

/** Runs a client without blocking this process, which also serves the upstream and the stub. */
async function spawn(cmd: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { exitCode, stdout, stderr };
}

/** Node (its own llhttp parser) sends `argv[2]`'s [method, path] pairs one after another on one keep-alive socket. */
const NODE_KEEP_ALIVE = `
const http = require("node:http");
const [base, list] = [process.argv[1], JSON.parse(process.argv[2])];
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const one = ([method, path]) => new Promise((resolve, reject) => {
  const req = http.request(base + path, { method, agent }, (res) => {
    let body = "";
    res.setEncoding("utf8");
    res.on("data", (chunk) => (body += chunk));
    res.on("end", () => resolve({ status: res.statusCode, body, length: res.headers["content-length"], port: req.socket.localPort }));
  });
  req.on("error", reject);
  req.end();
});
(async () => {
  const out = [];
  for (const request of list) out.push(await one(request));
  console.log(JSON.stringify(out));
  agent.destroy();
})().catch((error) => {
  console.log(JSON.stringify({ error: error.code || error.message }));
  process.exit(1);
});
`;
