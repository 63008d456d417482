/**
 * Experiments end to end: the real `dist/hfi serve`, the real Envoy 1.40 (2 workers) and a real
 * upstream, driven through the typed client. A stop condition fires on what the filters observed
 * and the faults end in Envoy; a start retried with its Idempotency-Key runs once; the event stream
 * is the same, in order, across a reconnect with Last-Event-ID; the results equal the traffic sent.
 * Requires `npm run build` and scripts/setup.sh. Figures go to stdout as `[experiment-runs] …` lines.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createClient, type HfiClient } from "../../src/client/index.ts";
import type { Experiment } from "../../src/experiments/index.ts";
import type { PolicyInput } from "../../src/policy/index.ts";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";
import { policy } from "../support/policies.ts";
import { type Sent, send } from "../support/requests.ts";

const REPORT_INTERVAL_MS = 200;

let stack: LocalStack;
let client: HfiClient;
beforeAll(async () => {
  stack = await startLocalStack({ concurrency: 2, pluginConfig: { reportIntervalMs: REPORT_INTERVAL_MS } });
  client = createClient({ baseUrl: stack.controlPlaneUrl, timeoutMs: 10_000 });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

const report = (line: string) => console.log(`[experiment-runs] ${line}`);

async function until(id: string, ok: (e: Experiment) => boolean, limitMs = 20_000): Promise<Experiment> {
  const deadline = performance.now() + limitMs;
  for (;;) {
    const experiment = await client.getExperiment(id);
    if (ok(experiment)) return experiment;
    if (performance.now() > deadline) throw new Error(`not there in time: ${JSON.stringify(experiment)}`);
    await Bun.sleep(25);
  }
}

/** Until `n` requests in a row to `path` answer `status`. */
async function streakOf(path: string, status: number, n = 10, limitMs = 10_000): Promise<void> {
  const deadline = performance.now() + limitMs;
  let streak = 0;
  while (streak < n) {
    if (performance.now() > deadline) throw new Error(`no ${n} × ${status} on ${path} in time`);
    streak = (await send(stack.envoyUrl, path)).status === status ? streak + 1 : 0;
  }
}

test("a stop condition fires on the observed error rate and the faults end in Envoy", async () => {
  const { experiment } = await client.startExperiment({
    name: "stop-on-errors",
    duration: "120s",
    stopConditions: [{ metric: "errorRate", threshold: 0.5, for: "0s" }],
    policies: [
      policy("checkout-down", {
        match: { path: { prefix: "/stop/checkout" } },
        fault: { abort: { httpStatus: 503 } },
      }) as unknown as PolicyInput,
    ],
  });
  expect(experiment.state).toBe("Running");
  // Traffic until the faults are gone: every answer is recorded with when it came. "Gone" is 10 clean
  // answers in a row after a fault: right after the start one worker may fault while another has
  // not received the policy yet.
  const sent: Sent[] = [];
  const isFault = (answer: Sent) => answer.fault === `checkout-down-${experiment.id}`;
  let cleanInARow = 0;
  const deadline = performance.now() + 30_000;
  while (cleanInARow < 10 && performance.now() < deadline) {
    const answer = await send(stack.envoyUrl, "/stop/checkout/pay");
    sent.push(answer);
    cleanInARow = isFault(answer) ? 0 : sent.some(isFault) ? cleanInARow + 1 : 0;
  }
  const lastFault = sent.findLastIndex(isFault);
  const firstFault = sent.find(isFault)?.at;
  const faultsOff = sent[lastFault + 1]?.at;
  expect(firstFault).toBeDefined();
  expect(faultsOff).toBeDefined();
  const stopped = await until(experiment.id, (e) => e.state !== "Running");
  expect(stopped).toMatchObject({ state: "Stopped", reason: "stopCondition errorRate>0.5 for 0s" });
  // Once off, they stay off: the policy is gone from the store, and Envoy answers from the upstream.
  expect((await client.listPolicies()).items).toEqual([]);
  await streakOf("/stop/checkout/pay", 200);
  const faulted = sent.filter((s) => s.status === 503).length;
  report(
    `stop condition: first fault → faults off in Envoy ${(faultsOff! - firstFault!).toFixed(0)} ms ` +
      `(${faulted} requests faulted meanwhile; report interval ${REPORT_INTERVAL_MS} ms, evaluation every 250 ms)`,
  );

  // Everything sent while the experiment ran is in its results, whatever the filters reported late.
  const expected = sent.filter((s) => s.at >= firstFault! && s.at < faultsOff!).length;
  await Bun.sleep(3 * REPORT_INTERVAL_MS);
  const results = await client.getExperimentResults(experiment.id);
  expect(results.phases.running?.injected).toBe(faulted);
  expect(results.phases.running?.statusCounts["503"]).toBe(faulted);
  expect(results.phases.running?.requests).toBeGreaterThanOrEqual(expected);
  expect(results.observation?.dominantStatus).toBe(503);
}, 60_000);

test("a start retried with its Idempotency-Key runs one experiment; another body is refused", async () => {
  const spec = {
    name: "idempotent",
    duration: "2s",
    policies: [
      policy("idem", {
        match: { path: { prefix: "/idem" } },
        fault: { abort: { httpStatus: 418 } },
      }) as unknown as PolicyInput,
    ],
  };
  const [a, b] = await Promise.all([
    client.startExperiment(spec, "key-1"),
    client.startExperiment(spec, "key-1"),
  ]);
  expect(a.experiment.id).toBe(b.experiment.id);
  expect([a.created, b.created].sort()).toEqual([false, true]);
  await expect(client.startExperiment({ ...spec, duration: "3s" }, "key-1")).rejects.toMatchObject({
    code: "Conflict",
  });
  await streakOf("/idem/x", 418, 5);
  const done = await until(a.experiment.id, (e) => e.state === "Completed");
  expect(done.reason).toBe("duration elapsed");
  await streakOf("/idem/x", 200, 5);
  const named = (await client.listExperiments()).items.filter((e) => e.name === "idempotent");
  expect(named).toHaveLength(1);
}, 30_000);

interface Received {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/** Reads events from `GET /v1/events` until `enough` says so, then disconnects. */
async function readEvents(lastEventId: number | undefined, enough: (events: Received[]) => boolean) {
  const res = await fetch(`${stack.controlPlaneUrl}/v1/events`, {
    headers: lastEventId === undefined ? {} : { "last-event-id": String(lastEventId) },
  });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: Received[] = [];
  let text = "";
  while (!enough(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    for (let end = text.indexOf("\n\n"); end >= 0; end = text.indexOf("\n\n")) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const field = (name: string) =>
        block
          .split("\n")
          .find((l) => l.startsWith(`${name}: `))
          ?.slice(name.length + 2);
      const id = field("id");
      if (id) events.push({ id: Number(id), event: field("event")!, data: JSON.parse(field("data")!) });
    }
  }
  await reader.cancel();
  return events;
}

test("the event stream is in order and complete across a reconnect with Last-Event-ID", async () => {
  const { experiment } = await client.startExperiment({
    name: "events",
    duration: "2s",
    baseline: "1s",
    policies: [
      policy("evt", {
        match: { path: { prefix: "/evt" } },
        fault: { abort: { httpStatus: 503 } },
      }) as unknown as PolicyInput,
    ],
  });
  const mine = (events: Received[]) =>
    events.filter((e) => e.event === "experiment" && e.data.id === experiment.id);
  const reached = (state: string) => (events: Received[]) => mine(events).some((e) => e.data.state === state);
  // Disconnect once it is in its baseline; reconnect after it completed.
  const first = await readEvents(undefined, reached("Baseline"));
  await until(experiment.id, (e) => e.state === "Completed");
  const lastSeen = first.at(-1)!.id;
  const resumed = await readEvents(lastSeen, reached("Completed"));
  expect(resumed[0]?.id).toBe(lastSeen + 1);
  const all = [...first, ...resumed];
  const ids = all.map((e) => e.id);
  expect(ids).toEqual(ids.map((_, i) => ids[0]! + i));
  expect(mine(all).map((e) => e.data.state)).toEqual(["Pending", "Baseline", "Running", "Completed"]);
  const applied = `evt-${experiment.id}`;
  const policyEvents = all
    .filter((e) => e.event === "policy" && e.data.name === applied)
    .map((e) => e.data.type);
  expect(policyEvents).toEqual(["put", "put", "delete"]);
  report(
    `events: ${first.length} before the disconnect, ${resumed.length} after, ids ${ids[0]}…${ids.at(-1)} without a gap`,
  );
}, 30_000);
