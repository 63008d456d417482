#!/usr/bin/env bun
/**
 * `bun examples/recommender/main.ts`: starts hfi, Envoy and the demo system on free loopback ports
 * (test/support/local-stack.ts, as `npm run demo` does), runs the search over the candidates below
 * and prints the ranking, worst first. Requires `npm run build` and scripts/setup.sh.
 */
import { startLocalStack } from "../../test/support/local-stack.ts";
import { callFrontend, demoSystem } from "./demo-system.ts";
import { type Candidate, search } from "./search.ts";

/** How long the frontend's callers wait. */
export const CALLER_DEADLINE_MS = 300;

export const CANDIDATES: Candidate[] = [
  {
    name: "backend-abort",
    spec: { match: { path: { prefix: "/backend/" } }, fault: { abort: { httpStatus: 503 } } },
  },
  {
    name: "backend-abort-half",
    spec: { match: { path: { prefix: "/backend/" } }, fault: { abort: { httpStatus: 500 }, percentage: 50 } },
  },
  {
    name: "backend-delay-100ms",
    spec: { match: { path: { prefix: "/backend/" } }, fault: { delay: { fixedDelay: "100ms" } } },
  },
  {
    name: "backend-delay-1s",
    spec: { match: { path: { prefix: "/backend/" } }, fault: { delay: { fixedDelay: "1s" } } },
  },
  {
    name: "frontend-delay-50ms",
    spec: { match: { path: { prefix: "/frontend/" } }, fault: { delay: { fixedDelay: "50ms" } } },
  },
];

/** What the search scores: the frontend's traffic, watched by a dry run. */
export const OBSERVE = { match: { path: { prefix: "/frontend/" } }, fault: { abort: { httpStatus: 500 } } };

if (import.meta.main) {
  let envoyUrl = "";
  const stack = await startLocalStack({ upstream: demoSystem(() => envoyUrl) });
  envoyUrl = stack.envoyUrl;
  try {
    const ranking = await search({
      controlPlaneUrl: stack.controlPlaneUrl,
      candidates: CANDIDATES,
      budget: CANDIDATES.length,
      duration: "3s",
      observe: OBSERVE,
      drive: (until) => callFrontend(envoyUrl, until, CALLER_DEADLINE_MS),
    });
    for (const { candidate, observed } of ranking) {
      const s = observed.summary;
      console.log(
        `${candidate.name.padEnd(22)} frontend errors ${(s.errorRate * 100).toFixed(0).padStart(3)}% of ${s.requests}, mean ${s.latencyMs.mean?.toFixed(0) ?? "-"} ms`,
      );
    }
  } finally {
    await stack.stop();
  }
}
