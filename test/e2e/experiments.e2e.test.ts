/**
 * Safe experiments end to end: the real `dist/hfi serve --auth-token-file`, two real Envoys 1.40 (2 workers
 * each, so 3 subscribers each counting the main thread) polling it with a reader token, and the real
 * `dist/hfi` CLI. Time-boxed policies stop by the filter's own clock with the control plane gone,
 * `hfi halt` stops every fault and blocks changes (423) until `hfi resume`, dry runs count without
 * injecting, faults are attributed (per-policy counters with a Prometheus label, the upstream's
 * `x-hfi-fault`, the access log), and `hfi policy apply --wait` returns once every worker of both
 * Envoys acknowledged, or times out naming the one that was stopped.
 * Requires `npm run build` and scripts/setup.sh. Figures go to stdout as `[experiments] …` lines.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";
import { HFI_BIN } from "../support/paths.ts";
import { policy } from "../support/policies.ts";
import { expectSoon, type Sent, send } from "../support/requests.ts";

const WRITER = "writer-e2e-5f1c0a9b";
const READER = "reader-e2e-77d2e4a1";
/** The access-log format docs/FILTER.md gives, verified here line by line. */
const ACCESS_LOG_FORMAT =
  "%REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% hfi_policy=%FILTER_STATE(wasm.hfi_policy:PLAIN)% upstream_fault=%REQ(X-HFI-FAULT)%";
const ROOT_CONTEXTS_PER_ENVOY = 3;

const work = mkdtempSync(join(tmpdir(), "hfi-experiments-"));
const tokenFile = join(work, "tokens");
writeFileSync(tokenFile, `# e2e\nwriter:${WRITER}\nreader:${READER}\n`);

let a: LocalStack;
let b: LocalStack;
beforeAll(async () => {
  a = await startLocalStack({
    concurrency: 2,
    nodeId: "envoy-a",
    serveArgs: ["--auth-token-file", tokenFile],
    pluginConfig: { token: READER, filterState: true },
    accessLogFormat: ACCESS_LOG_FORMAT,
  });
  const { port } = new URL(a.controlPlaneUrl);
  b = await startLocalStack({
    concurrency: 2,
    nodeId: "envoy-b",
    controlPlanePort: Number(port),
    pluginConfig: { token: READER },
  });
}, 60_000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

const report = (line: string) => console.log(`[experiments] ${line}`);

const sendMany = (envoyUrl: string, path: string, n: number) =>
  Promise.all(Array.from({ length: n }, () => send(envoyUrl, path)));

/** The control plane's API with the writer token. */
function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${a.controlPlaneUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${WRITER}`, "content-type": "application/json", ...init.headers },
  });
}

async function put(name: string, spec: Record<string, unknown>) {
  const res = await api(`/v1/policies/${name}`, { method: "PUT", body: JSON.stringify(policy(name, spec)) });
  const body = (await res.json()) as { status: { expiresAt: string } };
  if (res.status !== 200 && res.status !== 201)
    throw new Error(`PUT ${name}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function remove(name: string) {
  const res = await api(`/v1/policies/${name}`, { method: "DELETE" });
  if (res.status !== 200) throw new Error(`DELETE ${name}: ${res.status} ${await res.text()}`);
}

interface Cli {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The real `dist/hfi` against the control plane, with the writer token. */
async function hfi(...args: string[]): Promise<Cli> {
  const start = performance.now();
  const proc = Bun.spawn([HFI_BIN, ...args, "--control-plane-addr", a.controlPlaneUrl], {
    env: { ...process.env, HFI_TOKEN: WRITER, NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr, ms: performance.now() - start };
}

/** A policy file for `hfi policy apply -f`. */
function policyFile(path: string, spec: Record<string, unknown>): string {
  const file = join(work, `${path}.json`);
  writeFileSync(file, JSON.stringify(policy(path.split("/").at(-1)!, spec)));
  return file;
}

async function proxies() {
  const res = await api("/v1/status/proxies");
  expect(res.status).toBe(200);
  return (await res.json()) as {
    revision: number;
    halted: boolean;
    proxies: { node: string; worker: string; revision: number | null; live: boolean; polling: boolean }[];
  };
}

/** A Prometheus sample of Envoy `envoy` (its admin URL) summed over the workers, or NaN. */
async function prometheus(adminUrl: string, sample: string): Promise<number> {
  const text = await fetch(`${adminUrl}/stats/prometheus`).then((r) => r.text());
  const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : Number.NaN;
}

async function stat(adminUrl: string, name: string): Promise<number> {
  const text = await fetch(
    `${adminUrl}/stats?filter=${encodeURIComponent(`^${name.replaceAll(".", "\\.")}$`)}`,
  ).then((r) => r.text());
  const match = new RegExp(`^${name.replaceAll(".", "\\.")}: (\\d+)$`, "m").exec(text);
  return match ? Number(match[1]) : Number.NaN;
}

/** The access log's lines once `ready` holds for them (Envoy flushes it every 100 ms); fails after 5 s. */
async function accessLogSoon(file: string, ready: (lines: string[]) => boolean): Promise<string[]> {
  const deadline = performance.now() + 5_000;
  for (;;) {
    const lines = (await Bun.file(file).text()).split("\n");
    if (ready(lines)) return lines;
    if (performance.now() > deadline)
      throw new Error(`access log not complete after 5 s:\n${lines.join("\n")}`);
    await Bun.sleep(20);
  }
}

/**
 * Runs `trigger` while 4 probe loops (2 per Envoy) send requests to `path`; stops probing 500 ms
 * after it returned. Times are relative to the trigger's start.
 */
async function underProbes<T>(path: string, trigger: () => Promise<T>) {
  let probing = true;
  const seen: Sent[] = [];
  const probes = [a, b, a, b].map(async (envoy) => {
    while (probing) seen.push(await send(envoy.envoyUrl, path));
  });
  await Bun.sleep(200);
  const startedAt = performance.now();
  const result = await trigger();
  const returnedAt = performance.now();
  await Bun.sleep(500);
  probing = false;
  await Promise.all(probes);
  const faults = seen.filter((s) => s.status === 503);
  return {
    result,
    seen,
    returnedAt,
    returnedMs: returnedAt - startedAt,
    lastFaultSentMs: Math.max(...faults.map((s) => s.at)) - startedAt,
    lastFaultAnsweredMs: Math.max(...faults.map((s) => s.at + s.ms)) - startedAt,
  };
}

describe("identity and token", () => {
  test("every worker of both Envoys polls with the reader token and shows up by node id", async () => {
    const deadline = performance.now() + 10_000;
    let status = await proxies();
    const live = () => status.proxies.filter((p) => p.live);
    while (live().length < 2 * ROOT_CONTEXTS_PER_ENVOY && performance.now() < deadline) {
      await Bun.sleep(100);
      status = await proxies();
    }
    expect([...new Set(live().map((p) => p.node))].sort()).toEqual(["envoy-a", "envoy-b"]);
    for (const node of ["envoy-a", "envoy-b"]) {
      const workers = live()
        .filter((p) => p.node === node)
        .map((p) => p.worker);
      expect(workers).toHaveLength(ROOT_CONTEXTS_PER_ENVOY);
      for (const worker of workers) expect(worker).toMatch(/^[0-9a-f]{16}$/);
      expect(new Set(workers).size).toBe(ROOT_CONTEXTS_PER_ENVOY);
    }
    // The long-poll itself needs a token: without one the control plane refuses it.
    expect((await fetch(`${a.controlPlaneUrl}/v1/config`)).status).toBe(401);
  });

  test("an Envoy with a wrong token gets nothing, logs the refusal (not the token) and is not listed", async () => {
    const { port } = new URL(a.controlPlaneUrl);
    const wrong = "wrong-token-0000";
    const c = await startLocalStack({
      concurrency: 1,
      nodeId: "envoy-wrong-token",
      controlPlanePort: Number(port),
      pluginConfig: { token: wrong },
    });
    try {
      const deadline = performance.now() + 10_000;
      let log = "";
      while (performance.now() < deadline) {
        log = await Bun.file(join(c.logDir, "envoy.log")).text();
        if (log.includes("status 401, the token was refused")) break;
        await Bun.sleep(100);
      }
      expect(log).toContain("control plane poll failed (status 401, the token was refused)");
      expect(log).not.toContain(wrong);
      expect(await stat(c.adminUrl, "wasmcustom.hfi.config.updates_total")).toBe(0);
      expect((await proxies()).proxies.map((p) => p.node)).not.toContain("envoy-wrong-token");
    } finally {
      await c.stop();
    }
  }, 30_000);
});

describe("hfi policy apply --wait", () => {
  test("returns once every worker of both Envoys acknowledged; both fault right away", async () => {
    const file = policyFile("wait-abort", {
      match: { path: { exact: "/wait" } },
      fault: { abort: { httpStatus: 418 } },
    });
    const run = await hfi("policy", "apply", "-f", file, "--wait=20s");
    expect([run.code, run.stderr]).toEqual([0, ""]);
    expect(run.stdout).toContain("faultinjectionpolicy.hfi.dev/wait-abort created");
    const applied = /revision (\d+) applied by (\d+)\/(\d+) proxies in ([\d.]+)s/.exec(run.stdout);
    expect(applied).not.toBeNull();
    expect([applied![2], applied![3]]).toEqual([
      String(2 * ROOT_CONTEXTS_PER_ENVOY),
      String(2 * ROOT_CONTEXTS_PER_ENVOY),
    ]);
    report(
      `apply --wait: 6/6 workers of 2 Envoys acknowledged in ${applied![4]} s (CLI process ${run.ms.toFixed(0)} ms)`,
    );
    // Acknowledged means applied: no request to any worker gets through unfaulted now.
    for (const envoy of [a, b]) {
      for (const s of await sendMany(envoy.envoyUrl, "/wait", 24))
        expect([s.status, s.fault]).toEqual([418, "wait-abort"]);
    }
    const status = await proxies();
    const revision = Number(applied![1]);
    for (const p of status.proxies.filter((p) => p.live)) expect(p.revision).toBeGreaterThanOrEqual(revision);
    await remove("wait-abort");
  }, 30_000);
});

describe("attribution", () => {
  test("per-policy counters (a policy label in Prometheus), x-hfi-fault at the upstream, the access log", async () => {
    const dir = join(work, "attribution");
    mkdirSync(dir);
    policyFile("attribution/attr-abort", {
      match: { path: { prefix: "/attr/abort" } },
      fault: { abort: { httpStatus: 503 } },
    });
    policyFile("attribution/attr-delay", {
      match: { path: { prefix: "/attr/delay" } },
      fault: { delay: { fixedDelay: "100ms" } },
    });
    const apply = await hfi("policy", "apply", "-f", dir, "--wait=20s");
    expect([apply.code, apply.stderr]).toEqual([0, ""]);
    const before = {
      aborts: (await stat(a.adminUrl, "wasmcustom.hfi.policy.attr-abort.aborts_total")) || 0,
      delays: (await stat(a.adminUrl, "wasmcustom.hfi.policy.attr-delay.delays_total")) || 0,
    };
    const aborts = await sendMany(a.envoyUrl, "/attr/abort/x", 12);
    const delays = await sendMany(a.envoyUrl, "/attr/delay/y", 12);
    for (const s of aborts) expect([s.status, s.fault]).toEqual([503, "attr-abort"]);
    for (const s of delays) {
      expect(s.status).toBe(200);
      expect(s.ms).toBeGreaterThanOrEqual(100);
      // The sample upstream echoes the request header the filter set.
      expect(JSON.parse(s.body)).toEqual({
        upstream: "sample",
        method: "GET",
        path: "/attr/delay/y",
        fault: "attr-delay;delay=100",
      });
    }
    expect(await stat(a.adminUrl, "wasmcustom.hfi.policy.attr-abort.aborts_total")).toBe(before.aborts + 12);
    expect(await stat(a.adminUrl, "wasmcustom.hfi.policy.attr-delay.delays_total")).toBe(before.delays + 12);
    // deploy/envoy/envoy.yaml's stats_tags turn the policy name into a label.
    expect(await prometheus(a.adminUrl, 'hfi_policy_aborts_total{policy="attr-abort"}')).toBe(
      before.aborts + 12,
    );
    expect(await prometheus(a.adminUrl, 'hfi_policy_delays_total{policy="attr-delay"}')).toBe(
      before.delays + 12,
    );
    // Defined when the rule set arrived: Envoy B shows the counters at 0 before any request.
    expect(await stat(b.adminUrl, "wasmcustom.hfi.policy.attr-abort.aborts_total")).toBe(0);
    // The access log, flushed every 100 ms by the local stack's Envoy flags.
    const lines = await accessLogSoon(
      a.accessLogPath!,
      (ls) => ls.filter((l) => l.includes(" /attr/")).length >= 24,
    );
    const logged = (path: string) => lines.filter((l) => l.includes(` ${path} `));
    expect(logged("/attr/abort/x")).toHaveLength(12);
    for (const line of logged("/attr/abort/x")) {
      expect(line).toBe("GET /attr/abort/x 503 hfi_policy=attr-abort upstream_fault=-");
    }
    expect(logged("/attr/delay/y")).toHaveLength(12);
    for (const line of logged("/attr/delay/y")) {
      expect(line).toBe("GET /attr/delay/y 200 hfi_policy=attr-delay upstream_fault=attr-delay;delay=100");
    }
    const plain = await send(a.envoyUrl, "/attr/none");
    expect(plain.status).toBe(200);
    expect(
      await accessLogSoon(a.accessLogPath!, (ls) => ls.some((l) => l.includes(" /attr/none "))),
    ).toContain("GET /attr/none 200 hfi_policy=- upstream_fault=-");
    await remove("attr-abort");
    await remove("attr-delay");
  }, 40_000);
});

describe("dry run", () => {
  test("spec.mode dryRun counts every matching request and injects nothing", async () => {
    const file = policyFile("dry-delay", {
      mode: "dryRun",
      match: { path: { prefix: "/dry" } },
      fault: { delay: { fixedDelay: "2s" }, abort: { httpStatus: 500 } },
    });
    const run = await hfi("policy", "apply", "-f", file, "--wait=20s");
    expect([run.code, run.stderr]).toEqual([0, ""]);
    const results = [
      ...(await sendMany(a.envoyUrl, "/dry/run", 15)),
      ...(await sendMany(b.envoyUrl, "/dry/run", 9)),
    ];
    for (const s of results) {
      expect([s.status, s.fault]).toEqual([200, null]);
      expect(s.ms).toBeLessThan(1000);
      expect(JSON.parse(s.body).fault).toBeUndefined();
    }
    expect(await stat(a.adminUrl, "wasmcustom.hfi.policy.dry-delay.dryrun_matches_total")).toBe(15);
    expect(await stat(b.adminUrl, "wasmcustom.hfi.policy.dry-delay.dryrun_matches_total")).toBe(9);
    expect(await prometheus(a.adminUrl, 'hfi_policy_dryrun_matches_total{policy="dry-delay"}')).toBe(15);
    expect(Number.isNaN(await stat(a.adminUrl, "wasmcustom.hfi.policy.dry-delay.delays_total"))).toBe(true);
    await remove("dry-delay");
  }, 30_000);
});

describe("halt", () => {
  test("hfi halt stops every fault promptly and refuses changes (423); hfi resume restores", async () => {
    const file = policyFile("halt-me", {
      match: { path: { prefix: "/halt" } },
      fault: { abort: { httpStatus: 503 } },
    });
    expect((await hfi("policy", "apply", "-f", file, "--wait=20s")).code).toBe(0);
    for (const envoy of [a, b]) {
      for (const s of await sendMany(envoy.envoyUrl, "/halt/x", 12)) expect(s.status).toBe(503);
    }

    // `hfi halt --wait`, with probes running against both Envoys while the halt goes out.
    const viaCli = await underProbes("/halt/x", () =>
      hfi("halt", "--reason", "e2e experiments", "--wait=10s"),
    );
    const halt = viaCli.result;
    expect([halt.code, halt.stderr]).toEqual([0, ""]);
    const ack = /applied by (\d+)\/(\d+) proxies in ([\d.]+)s/.exec(halt.stdout);
    expect(ack && [ack[1], ack[2]]).toEqual(["6", "6"]);
    // Once `hfi halt --wait` returned, no request was faulted.
    expect(viaCli.seen.filter((s) => s.status === 503 && s.at >= viaCli.returnedAt)).toEqual([]);
    expect(viaCli.seen.filter((s) => s.at >= viaCli.returnedAt).length).toBeGreaterThan(10);
    report(
      `halt (CLI): last faulted request sent ${viaCli.lastFaultSentMs.toFixed(0)} ms and answered ` +
        `${viaCli.lastFaultAnsweredMs.toFixed(0)} ms after \`hfi halt\` was started (process start-up included); ` +
        `it returned after ${viaCli.returnedMs.toFixed(0)} ms, all 6 workers acknowledged in ${ack![3]} s; ` +
        `${viaCli.seen.length} probes`,
    );
    expect(viaCli.lastFaultAnsweredMs).toBeLessThan(2_000);
    // While halted: writes are refused with 423 Locked, by the API and by the CLI.
    const refused = await api("/v1/policies/new-one", {
      method: "PUT",
      body: JSON.stringify(policy("new-one", { fault: { abort: { httpStatus: 500 } } })),
    });
    expect(refused.status).toBe(423);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("Locked");
    const cliRefused = await hfi(
      "policy",
      "apply",
      "-f",
      policyFile("new-one", { fault: { abort: { httpStatus: 500 } } }),
    );
    expect(cliRefused.code).not.toBe(0);
    expect(cliRefused.stderr.toLowerCase()).toContain("halt");
    const status = await hfi("status");
    expect(status.code).toBe(0);
    expect(status.stdout.toLowerCase()).toContain("halt");
    expect((await proxies()).halted).toBe(true);

    const resume = await hfi("resume", "--wait=10s");
    expect([resume.code, resume.stderr]).toEqual([0, ""]);
    for (const envoy of [a, b]) {
      for (const s of await sendMany(envoy.envoyUrl, "/halt/x", 12))
        expect([s.status, s.fault]).toEqual([503, "halt-me"]);
    }
    expect((await proxies()).halted).toBe(false);

    // The same through the API alone: how soon after POST /v1/halt the faults stop.
    const viaApi = await underProbes("/halt/x", () => api("/v1/halt", { method: "POST", body: "{}" }));
    expect(viaApi.result.status).toBe(201);
    report(
      `halt (POST /v1/halt): last faulted request sent ${viaApi.lastFaultSentMs.toFixed(0)} ms and answered ` +
        `${viaApi.lastFaultAnsweredMs.toFixed(0)} ms after the POST was sent (it returned after ` +
        `${viaApi.returnedMs.toFixed(0)} ms); ${viaApi.seen.length} probes`,
    );
    expect(viaApi.lastFaultAnsweredMs).toBeLessThan(1_000);
    expect((await api("/v1/halt", { method: "DELETE" })).status).toBe(200);
    await remove("halt-me");
  }, 60_000);
});

describe("apply --wait with an Envoy gone", () => {
  test("times out naming the stopped Envoy's workers", async () => {
    await b.stopEnvoy();
    const file = policyFile("after-stop", {
      match: { path: { exact: "/after-stop" } },
      fault: { abort: { httpStatus: 418 } },
    });
    const run = await hfi("policy", "apply", "-f", file, "--wait=3s");
    report(`apply --wait=3s with envoy-b stopped: exit ${run.code} after ${run.ms.toFixed(0)} ms`);
    expect(run.code).not.toBe(0);
    expect(run.stdout).toContain("faultinjectionpolicy.hfi.dev/after-stop created");
    expect(run.stderr).toContain("timed out");
    expect(run.stderr).toContain("applied by 3/6 proxies");
    const named = run.stderr.split("\n").filter((l) => l.includes("envoy-b/"));
    report(`apply --wait=3s stderr:\n${run.stderr.trimEnd()}`);
    expect(named).toHaveLength(ROOT_CONTEXTS_PER_ENVOY);
    expect(run.stderr).not.toContain("envoy-a/");
    expect(run.ms).toBeLessThan(3_000 + 2_000);
    // Envoy A has it all the same.
    expect((await send(a.envoyUrl, "/after-stop")).status).toBe(418);
    await remove("after-stop");
  }, 30_000);
});

describe("time-boxed policy", () => {
  test("spec.duration 5s stops at 5 s (± 1 s) by the filter's clock though the control plane died at 2 s", async () => {
    const appliedAt = Date.now();
    const started = performance.now();
    const stored = await put("five-seconds", {
      duration: "5s",
      match: { path: { prefix: "/boxed" } },
      fault: { abort: { httpStatus: 503 } },
    });
    const expiresAt = Date.parse(stored.status.expiresAt);
    expect(expiresAt - appliedAt).toBeGreaterThanOrEqual(4_900);
    expect(expiresAt - appliedAt).toBeLessThanOrEqual(5_100);
    await expectSoon(
      () => send(a.envoyUrl, "/boxed"),
      (s) => s.status === 503,
    );
    await Bun.sleep(Math.max(0, 2_000 - (performance.now() - started)));
    await a.stopControlPlane();
    const killedAt = Date.now() - appliedAt;
    expect((await fetch(`${a.controlPlaneUrl}/healthz`).catch(() => null))?.status).toBeUndefined();

    // Probe until well past the expiry: 2 in flight, each a fresh connection.
    const seen: { status: number; sentAt: number; doneAt: number }[] = [];
    const until = expiresAt + 2_000;
    await Promise.all(
      Array.from({ length: 2 }, async () => {
        while (Date.now() < until) {
          const sentAt = Date.now();
          const s = await send(a.envoyUrl, "/boxed");
          seen.push({ status: s.status, sentAt, doneAt: Date.now() });
        }
      }),
    );
    await a.startControlPlane();
    const faults = seen.filter((s) => s.status === 503);
    const passes = seen.filter((s) => s.status === 200);
    expect(faults.length + passes.length).toBe(seen.length);
    const lastFault = Math.max(...faults.map((s) => s.sentAt));
    const firstPass = Math.min(...passes.map((s) => s.sentAt));
    report(
      `duration 5s: control plane killed at ${(killedAt / 1000).toFixed(2)} s; last fault sent at ` +
        `${((lastFault - appliedAt) / 1000).toFixed(2)} s, first pass at ${((firstPass - appliedAt) / 1000).toFixed(2)} s ` +
        `after the apply (expiresAt at ${((expiresAt - appliedAt) / 1000).toFixed(2)} s); ${seen.length} probes`,
    );
    // Faults went on after the control plane was gone…
    expect(faults.some((s) => s.sentAt - appliedAt > killedAt + 500)).toBe(true);
    // …and stopped at the expiry: nothing faulted after it, nothing passed well before it.
    expect(faults.every((s) => s.sentAt <= expiresAt)).toBe(true);
    expect(lastFault).toBeGreaterThanOrEqual(expiresAt - 1_000);
    expect(firstPass).toBeLessThanOrEqual(expiresAt + 1_000);
    expect(passes.every((s) => s.doneAt >= expiresAt - 1_000)).toBe(true);
  }, 40_000);
});
