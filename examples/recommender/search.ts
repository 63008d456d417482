/**
 * A small Recommender: proposes faults from a space of candidates, runs each as an hfi experiment
 * while driving the caller's traffic, scores what hfi observed of that traffic, and keeps the worst.
 * The executor is hfi, reached only through its typed client (`hfi/client`); the loop knows nothing
 * of Envoy or of the filter (docs/RECOMMENDER.md).
 */
import {
  ApiError,
  createClient,
  type ExperimentSpec,
  type HfiClient,
  type PolicyObservationView,
} from "hfi/client";

/** One fault to try: a name and the policy `spec` (match and fault), as for `hfi policy apply`. */
export interface Candidate {
  name: string;
  spec: Record<string, unknown>;
}

export interface Scored {
  candidate: Candidate;
  experimentId: string;
  /** What the observer saw of the traffic that matters while the fault ran. */
  observed: PolicyObservationView;
  /** Higher is worse for the system: the observed error rate, then the mean latency as tie-break. */
  score: number;
}

export interface SearchOptions {
  /** The hfi control plane, e.g. http://localhost:8080. */
  controlPlaneUrl: string;
  candidates: Candidate[];
  /** At most this many experiments. */
  budget: number;
  /** How long each fault runs, e.g. "2s". */
  duration: string;
  /** A dry-run policy spec matching the traffic to score (what the system's callers see). */
  observe: Record<string, unknown>;
  /** Sends the caller's traffic until `until` (epoch ms); hfi observes it. */
  drive: (until: number) => Promise<void>;
  token?: string;
}

type PolicyDocument = ExperimentSpec["policies"][number];

/** A policy document from a name and a spec (the server validates it). */
const policy = (name: string, spec: Record<string, unknown>) =>
  ({
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: { name },
    spec,
  }) as unknown as PolicyDocument;
const ENDED = new Set(["Completed", "Stopped", "Failed"]);

/** Runs up to `budget` candidates, worst first in the result. */
export async function search(options: SearchOptions): Promise<Scored[]> {
  const client = createClient({ baseUrl: options.controlPlaneUrl, timeoutMs: 10_000, token: options.token });
  const scored: Scored[] = [];
  for (const candidate of options.candidates.slice(0, options.budget)) {
    scored.push(await tryCandidate(client, candidate, options));
  }
  return scored.sort((a, b) => b.score - a.score);
}

async function tryCandidate(
  client: HfiClient,
  candidate: Candidate,
  options: SearchOptions,
): Promise<Scored> {
  const { experiment } = await client.startExperiment(
    {
      name: candidate.name,
      duration: options.duration,
      policies: [
        policy(candidate.name, candidate.spec),
        policy("observer", { ...options.observe, mode: "dryRun" }),
      ],
    },
    // A retried start must not run the fault twice.
    `search-${candidate.name}-${Date.now()}`,
  );
  const endsAt = Date.parse(experiment.endsAt ?? new Date().toISOString());
  await options.drive(endsAt);
  let state = experiment.state;
  while (!ENDED.has(state)) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    state = (await client.getExperiment(experiment.id)).state;
  }
  // The filters report about once a second: what the last requests did arrives just after the end.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const [faultName = "", observerName = ""] = experiment.policies;
  // A candidate on the observed traffic itself is its first match (the observer is never reached):
  // then its own observation is that traffic's.
  const observed = await client.getObservation(observerName).catch((err) => {
    if (err instanceof ApiError && err.code === "NotFound") return client.getObservation(faultName);
    throw err;
  });
  const score = observed.summary.errorRate + (observed.summary.latencyMs.mean ?? 0) / 1e6;
  return { candidate, experimentId: experiment.id, observed, score };
}
