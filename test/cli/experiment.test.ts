import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { RunningServer } from "../../src/server/index.ts";
import { hfi, tempDir } from "../support/cli.ts";
import { startControlPlane } from "../support/control-plane.ts";

let server: RunningServer;
let env: Record<string, string>;
beforeAll(async () => {
  server = await startControlPlane();
  env = { HFI_CONTROL_PLANE_ADDR: server.url };
});
afterAll(() => server.stop());

const experimentYaml = (duration: string) => `name: checkout
duration: ${duration}
stopConditions:
  - { metric: errorRate, threshold: 0.5, for: 2s }
policies:
  - apiVersion: hfi.dev/v1alpha1
    kind: FaultInjectionPolicy
    metadata: { name: checkout-abort }
    spec:
      match: { path: { prefix: /api/checkout } }
      fault: { abort: { httpStatus: 503 } }
`;

test("run --watch follows it to Completed, then prints its results (plain lines when piped)", async () => {
  const dir = tempDir({ "exp.yaml": experimentYaml("1s") });
  const run = await hfi(["experiment", "run", "-f", join(dir, "exp.yaml"), "--watch"], { env });
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  const lines = run.stdout.split("\n");
  expect(lines[0]).toMatch(/^experiment [0-9a-f]{8} started$/);
  // The start answers once its policies are applied: it is Running already.
  expect(lines.some((l) => /^Running: faults until \d{4}-/.test(l))).toBe(true);
  expect(lines).toContain("Completed: duration elapsed");
  expect(run.stdout).toMatch(
    /PHASE\s+REQUESTS\s+INJECTED\s+ERRORS\s+P50\s+P99\s+MEAN\s+STATUS\nrunning\s+0\s+0\s+0\.0%/,
  );
  expect(run.stdout).toContain("observation: dominant status -, mean latency -, error rate 0.0%");
  // No ANSI redraws when piped.
  expect(run.stdout).not.toContain("\x1b[");
});

test("run -o json, get, stop, results -o json", async () => {
  const dir = tempDir({ "exp.yaml": experimentYaml("60s") });
  const run = await hfi(["experiment", "run", "-f", join(dir, "exp.yaml"), "-o", "json"], { env });
  expect(run.code).toBe(0);
  const { id, state } = JSON.parse(run.stdout) as { id: string; state: string };
  expect(state).toBe("Running");

  const table = await hfi(["experiment", "get", "--state", "Running"], { env });
  expect(table.stdout).toMatch(
    new RegExp(
      `^ID\\s+NAME\\s+STATE\\s+REASON\\s+AGE\\s+ENDS\\n${id}\\s+checkout\\s+Running\\s+faults until`,
    ),
  );
  const one = JSON.parse((await hfi(["experiment", "get", id, "-o", "json"], { env })).stdout);
  expect(one).toMatchObject({
    id,
    policies: [`checkout-abort-${id}`],
    stopConditions: ["errorRate>0.5 for 2s"],
  });

  const stop = await hfi(["experiment", "stop", id], { env });
  expect(stop).toMatchObject({ code: 0, stdout: `experiment ${id} Stopped: stopped by user\n` });
  const results = JSON.parse((await hfi(["experiment", "results", id, "-o", "json"], { env })).stdout);
  expect(results).toMatchObject({ id, state: "Stopped", phases: { running: { requests: 0 } } });
  const policies = await hfi(["policy", "get", "-o", "json"], { env });
  expect(JSON.parse(policies.stdout).items).toEqual([]);
});

test("a bad experiment is refused naming the field; nothing runs", async () => {
  const dir = tempDir({ "bad.yaml": experimentYaml("1.5s") });
  const run = await hfi(["experiment", "run", "-f", join(dir, "bad.yaml")], { env });
  expect(run.code).toBe(1);
  expect(run.stderr).toContain("duration: must be a whole number of seconds");
  const missing = await hfi(["experiment", "run", "-f", join(dir, "nope.yaml")], { env });
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain("cannot read");
  expect((await hfi(["experiment", "get", "deadbeef"], { env })).code).toBe(1);
});
