/**
 * Runs experiments (docs/API_REFERENCE.md, "Experiments"): Pending → Baseline → Running →
 * Completed | Stopped | Failed, each change with a reason and an event. The baseline applies the
 * policies as dry runs; running applies them enforced with `spec.duration` set to the experiment's
 * end, so the store deletes them then and every filter skips them by its own clock even if this
 * process is gone. Stop conditions are evaluated here, on the replica that accepted the experiment,
 * over the running phase's observations so far, summed over every replica (src/fleet/observations.ts).
 */
import { createHash, randomBytes } from "node:crypto";
import type { ObservationLedger, PolicyObservation } from "../observations/index.ts";
import { summarize } from "../observations/index.ts";
import type { Policy } from "../policy/index.ts";
import { HfiError, type PolicyStore, type Unsubscribe } from "../store/index.ts";
import type { EventLog } from "./events.ts";
import type { ExperimentRequest, StopCondition } from "./request.ts";
import { difference, totalsOf } from "./results.ts";

export const EXPERIMENT_STATES = [
  "Pending",
  "Baseline",
  "Running",
  "Completed",
  "Stopped",
  "Failed",
] as const;
export type ExperimentState = (typeof EXPERIMENT_STATES)[number];
const FINAL: ReadonlySet<ExperimentState> = new Set(["Completed", "Stopped", "Failed"]);
/** Experiments kept; past it the oldest finished ones are forgotten. */
const MAX_EXPERIMENTS = 1000;
const MAX_IDEMPOTENCY_KEYS = 10_000;

export interface PhaseTimes {
  startedAt: string;
  endedAt?: string;
}

/** An experiment as the API shows it. */
export interface Experiment {
  id: string;
  name: string;
  state: ExperimentState;
  reason: string;
  createdAt: string;
  /** When the faults end (the running phase's planned end), once it is known. */
  endsAt?: string;
  endedAt?: string;
  /** The policies as applied: each request policy's name with `-<id>`. */
  policies: string[];
  durationSeconds: number;
  baselineSeconds: number;
  stopConditions: string[];
  phases: { baseline?: PhaseTimes; running?: PhaseTimes };
  history: { state: ExperimentState; reason: string; at: string }[];
}

export interface PhaseResult {
  startedAt: string;
  endedAt?: string;
  requests: number;
  injected: number;
  dryRunMatches: number;
  statusCounts: Record<string, number>;
  errorRate: number;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null; mean: number | null };
}

export interface ExperimentResults {
  id: string;
  state: ExperimentState;
  reason: string;
  phases: { baseline?: PhaseResult; running?: PhaseResult };
  /** What a Recommender scores: the running phase's dominant status, mean latency and error rate. */
  observation: { dominantStatus: number | null; meanLatencyMs: number | null; errorRate: number } | null;
}

export interface Experiments {
  /**
   * Starts one; with `idempotencyKey`, the same key and body give the same experiment
   * (`created: false`) and the same key with another body is a Conflict. Locked while halted.
   */
  start(
    request: ExperimentRequest,
    body: string,
    idempotencyKey?: string,
  ): Promise<{ experiment: Experiment; created: boolean }>;
  get(id: string): Experiment;
  list(state?: ExperimentState): Experiment[];
  stop(id: string): Promise<Experiment>;
  results(id: string): ExperimentResults;
  /** Stops every experiment in progress with reason `halted`. */
  halted(): Promise<void>;
  close(): void;
}

export interface ExperimentsOptions {
  store: PolicyStore;
  ledger: ObservationLedger;
  events: EventLog;
  /** How often stop conditions are evaluated; 250 ms unless a test wants otherwise. */
  evaluateEveryMs?: number;
  now?: () => Date;
}

interface Run {
  experiment: Experiment;
  request: ExperimentRequest;
  timers: Set<ReturnType<typeof setTimeout>>;
  /** Totals at the start of each phase. */
  baselineStart?: PolicyObservation;
  runningStart?: PolicyObservation;
  /** When each stop condition was first seen above its threshold, by index; unset when below. */
  above: Map<number, number>;
  /** Serialises the run's transitions (a stop during a start waits for it). */
  chain: Promise<void>;
}

export function createExperiments(options: ExperimentsOptions): Experiments {
  const { store, ledger, events, evaluateEveryMs = 250 } = options;
  const now = options.now ?? (() => new Date());
  const runs = new Map<string, Run>();
  const keys = new Map<string, { digest: string; id: string }>();

  const unwatch: Unsubscribe = store.watch((event) => {
    if (event.type === "halt") void experiments.halted();
  });

  function transition(run: Run, state: ExperimentState, reason: string): void {
    const at = now().toISOString();
    const e = run.experiment;
    e.state = state;
    e.reason = reason;
    e.history.push({ state, reason, at });
    if (FINAL.has(state)) {
      e.endedAt = at;
      for (const t of run.timers) clearTimeout(t);
      run.timers.clear();
    }
    events.append("experiment", { id: e.id, name: e.name, state, reason });
  }

  function serially(run: Run, step: () => Promise<void>): Promise<void> {
    run.chain = run.chain.then(step, step);
    return run.chain;
  }

  function after(run: Run, ms: number, step: () => Promise<void>): void {
    const timer = setTimeout(() => {
      run.timers.delete(timer);
      void serially(run, step);
    }, ms);
    run.timers.add(timer);
  }

  /** Applies the run's policies; returns when the last of them expires (`status.expiresAt`, ms). */
  async function apply(run: Run, mode: "dryRun" | undefined, seconds: number): Promise<number> {
    const { experiment, request } = run;
    let expiresAt = 0;
    for (const [i, policy] of request.policies.entries()) {
      const { policy: stored } = await store.createOrUpdate(
        asApplied(policy, experiment.policies[i] as string, mode, seconds),
      );
      expiresAt = Math.max(expiresAt, Date.parse(stored.status?.expiresAt ?? ""));
    }
    return expiresAt;
  }

  async function removePolicies(run: Run): Promise<void> {
    for (const name of run.experiment.policies) {
      try {
        await store.delete(name);
      } catch (err) {
        if (!(err instanceof HfiError && err.code === "NotFound")) throw err;
      }
    }
  }

  /** Ends the run with `state` unless it has ended already; its policies are removed first. */
  async function end(run: Run, state: ExperimentState, reason: string): Promise<void> {
    if (FINAL.has(run.experiment.state)) return;
    closePhases(run);
    try {
      await removePolicies(run);
      transition(run, state, reason);
    } catch (err) {
      transition(run, "Failed", `removing its policies failed: ${(err as Error).message}`);
    }
  }

  function closePhases(run: Run): void {
    const at = now().toISOString();
    const { phases } = run.experiment;
    if (phases.baseline && !phases.baseline.endedAt) phases.baseline.endedAt = at;
    if (phases.running && !phases.running.endedAt) phases.running.endedAt = at;
  }

  async function begin(run: Run): Promise<void> {
    const { experiment, request } = run;
    const total = Math.ceil((request.baselineMs + request.durationMs) / 1000);
    try {
      if (request.baselineMs > 0) {
        run.baselineStart = totalsOf(ledger, experiment.policies);
        experiment.phases.baseline = { startedAt: now().toISOString() };
        await apply(run, "dryRun", total);
        transition(run, "Baseline", `dry run for ${request.baselineMs / 1000}s`);
        after(run, request.baselineMs, () => startRunning(run));
      } else {
        await startRunning(run);
      }
    } catch (err) {
      await end(run, "Failed", `applying its policies failed: ${(err as Error).message}`);
    }
  }

  async function startRunning(run: Run): Promise<void> {
    const { experiment, request } = run;
    if (FINAL.has(experiment.state)) return;
    try {
      const at = now();
      if (experiment.phases.baseline) experiment.phases.baseline.endedAt = at.toISOString();
      run.runningStart = totalsOf(ledger, experiment.policies);
      experiment.phases.running = { startedAt: at.toISOString() };
      // The faults end when their policies expire — in the store and by every filter's clock — so
      // the experiment ends then too, not a duration after it asked for them.
      const expiresAt = await apply(run, undefined, request.durationMs / 1000);
      experiment.endsAt = new Date(expiresAt).toISOString();
      transition(run, "Running", `faults until ${experiment.endsAt}`);
      after(run, Math.max(0, expiresAt - now().getTime()), () => end(run, "Completed", "duration elapsed"));
      if (request.stopConditions.length > 0) evaluateLater(run);
    } catch (err) {
      await end(run, "Failed", `applying its policies failed: ${(err as Error).message}`);
    }
  }

  function evaluateLater(run: Run): void {
    after(run, evaluateEveryMs, async () => {
      if (run.experiment.state !== "Running") return;
      const fired = firedCondition(run);
      if (fired) await end(run, "Stopped", `stopCondition ${fired.text}`);
      else evaluateLater(run);
    });
  }

  function firedCondition(run: Run): StopCondition | undefined {
    if (!run.runningStart) return undefined;
    const summary = summarize(difference(totalsOf(ledger, run.experiment.policies), run.runningStart));
    const t = now().getTime();
    return run.request.stopConditions.find((condition, i) => {
      const value = metricOf(summary, condition);
      if (value === null || value <= condition.threshold) {
        run.above.delete(i);
        return false;
      }
      const since = run.above.get(i) ?? t;
      run.above.set(i, since);
      return t - since >= condition.forMs;
    });
  }

  function found(id: string): Run {
    const run = runs.get(id);
    if (!run) throw new HfiError("NotFound", `no experiment ${id}`);
    return run;
  }

  function forgetOldest(): void {
    for (const [id, run] of runs) {
      if (runs.size <= MAX_EXPERIMENTS) return;
      if (FINAL.has(run.experiment.state)) runs.delete(id);
    }
  }

  const experiments: Experiments = {
    async start(request, body, idempotencyKey) {
      const digest = createHash("sha256").update(body).digest("hex");
      if (idempotencyKey !== undefined) {
        const seen = keys.get(idempotencyKey);
        if (seen && seen.digest !== digest) {
          throw new HfiError("Conflict", "Idempotency-Key was used for another experiment with another body");
        }
        if (seen && runs.has(seen.id))
          return { experiment: structuredClone(found(seen.id).experiment), created: false };
      }
      const halt = await store.getHalt();
      if (halt) throw new HfiError("Locked", "the fleet is halted: no experiment starts until `hfi resume`");
      const id = randomBytes(4).toString("hex");
      const experiment: Experiment = {
        id,
        name: request.name,
        state: "Pending",
        reason: "accepted",
        createdAt: now().toISOString(),
        policies: request.policies.map((p) => `${p.metadata.name}-${id}`),
        durationSeconds: request.durationMs / 1000,
        baselineSeconds: request.baselineMs / 1000,
        stopConditions: request.stopConditions.map((c) => c.text),
        phases: {},
        history: [],
      };
      const run: Run = { experiment, request, timers: new Set(), above: new Map(), chain: Promise.resolve() };
      runs.set(id, run);
      forgetOldest();
      if (idempotencyKey !== undefined) {
        keys.set(idempotencyKey, { digest, id });
        if (keys.size > MAX_IDEMPOTENCY_KEYS) keys.delete(keys.keys().next().value as string);
      }
      transition(run, "Pending", "accepted");
      await serially(run, () => begin(run));
      return { experiment: structuredClone(experiment), created: true };
    },
    get(id) {
      return structuredClone(found(id).experiment);
    },
    list(state) {
      return [...runs.values()]
        .map((r) => r.experiment)
        .filter((e) => state === undefined || e.state === state)
        .map((e) => structuredClone(e));
    },
    async stop(id) {
      const run = found(id);
      await serially(run, () => end(run, "Stopped", "stopped by user"));
      return structuredClone(run.experiment);
    },
    results(id) {
      const run = found(id);
      const { experiment } = run;
      const current = totalsOf(ledger, experiment.policies);
      const phases: ExperimentResults["phases"] = {};
      const { baseline, running } = experiment.phases;
      if (baseline && run.baselineStart) {
        phases.baseline = phaseResult(baseline, difference(run.runningStart ?? current, run.baselineStart));
      }
      let observation: ExperimentResults["observation"] = null;
      if (running && run.runningStart) {
        const observed = difference(current, run.runningStart);
        phases.running = phaseResult(running, observed);
        const summary = summarize(observed);
        observation = {
          dominantStatus: summary.dominantStatus,
          meanLatencyMs: summary.latencyMs.mean,
          errorRate: summary.errorRate,
        };
      }
      return { id, state: experiment.state, reason: experiment.reason, phases, observation };
    },
    async halted() {
      await Promise.all(
        [...runs.values()]
          .filter((run) => !FINAL.has(run.experiment.state))
          .map((run) => serially(run, () => end(run, "Stopped", "halted"))),
      );
    },
    close() {
      unwatch();
      for (const run of runs.values()) for (const t of run.timers) clearTimeout(t);
    },
  };
  return experiments;
}

/** The request's policy as the experiment applies it: its name with the id, the mode and the duration. */
function asApplied(policy: Policy, name: string, mode: "dryRun" | undefined, seconds: number): Policy {
  return {
    ...policy,
    metadata: { name },
    spec: { ...policy.spec, ...(mode && { mode }), duration: `${seconds}s` },
  };
}

function metricOf(summary: ReturnType<typeof summarize>, condition: StopCondition): number | null {
  switch (condition.metric) {
    case "errorRate":
      return summary.statusCounts && Object.keys(summary.statusCounts).length > 0 ? summary.errorRate : null;
    case "latencyP50":
      return summary.latencyMs.p50;
    case "latencyP95":
      return summary.latencyMs.p95;
    case "latencyP99":
      return summary.latencyMs.p99;
    case "injected":
      return summary.injected;
  }
}

function phaseResult(times: PhaseTimes, observed: PolicyObservation): PhaseResult {
  const s = summarize(observed);
  return {
    ...times,
    requests: s.requests,
    injected: s.injected,
    dryRunMatches: s.dryRunMatches,
    statusCounts: s.statusCounts,
    errorRate: s.errorRate,
    latencyMs: s.latencyMs,
  };
}
