/**
 * The Recommender example end to end (examples/recommender/): its search loop, written against the
 * typed client `hfi/client`, runs each candidate fault as an experiment in the real stack (dist/hfi,
 * Envoy 1.40 with the filter) in front of a demo system whose frontend calls its backend without a
 * timeout, and finds that a backend delay beyond the callers' deadline is the fault that hurts —
 * while backend errors, which the frontend falls back from, and short delays do not.
 * Requires `npm run build` and scripts/setup.sh. Figures go to stdout as `[recommender] …` lines.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { callFrontend, demoSystem } from "../../examples/recommender/demo-system.ts";
import { CALLER_DEADLINE_MS, CANDIDATES, OBSERVE } from "../../examples/recommender/main.ts";
import { search } from "../../examples/recommender/search.ts";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";

let stack: LocalStack;
let envoyUrl = "";
beforeAll(async () => {
  stack = await startLocalStack({
    concurrency: 2,
    pluginConfig: { reportIntervalMs: 200 },
    upstream: demoSystem(() => envoyUrl),
  });
  envoyUrl = stack.envoyUrl;
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

test("the search finds the backend delay beyond the callers' deadline within its budget", async () => {
  const started = performance.now();
  const ranking = await search({
    controlPlaneUrl: stack.controlPlaneUrl,
    candidates: CANDIDATES,
    budget: CANDIDATES.length,
    duration: "2s",
    observe: OBSERVE,
    drive: (until) => callFrontend(envoyUrl, until, CALLER_DEADLINE_MS),
  });
  for (const { candidate, observed } of ranking) {
    const s = observed.summary;
    console.log(
      `[recommender] ${candidate.name}: frontend errors ${(s.errorRate * 100).toFixed(0)}% of ${s.requests}, statuses ${JSON.stringify(s.statusCounts)}, mean ${s.latencyMs.mean?.toFixed(0)} ms`,
    );
  }
  console.log(
    `[recommender] ${ranking.length} experiments in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  expect(ranking).toHaveLength(CANDIDATES.length);
  const [worst, ...rest] = ranking;
  expect(worst?.candidate.name).toBe("backend-delay-1s");
  // Most frontend requests in it were given up by their callers: no response, status 0. Those the
  // experiment's end released (the delay's policy deleted) were answered in time.
  expect(worst?.observed.summary.errorRate).toBeGreaterThan(0.5);
  expect(worst?.observed.summary.dominantStatus).toBe(0);
  for (const other of rest) {
    expect(other.observed.summary.requests).toBeGreaterThan(0);
    expect([other.candidate.name, other.observed.summary.errorRate]).toEqual([other.candidate.name, 0]);
  }
}, 120_000);
