import type {
  ExperimentList,
  ExperimentSpec,
  FleetStatus,
  HaltStatus,
  ObservationsList,
  PolicyObservationView,
  ProxiesStatus,
} from "../api-types.ts";
import type { Experiment, ExperimentResults, ExperimentState } from "../experiments/index.ts";
import type { Policy } from "../policy/index.ts";
import type { HaltRequest, PolicyList, StoredPolicy } from "../store/index.ts";
import { ApiError, toApiError, unreachable } from "./errors.ts";

export interface ClientOptions {
  /** The control plane, e.g. `http://localhost:8080`. */
  baseUrl: string;
  /** Per request; 0 waits forever. */
  timeoutMs: number;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Receives one line per request (method, URL, status, latency), for `--debug`. */
  trace?: (line: string) => void;
}

/** Which policies a list reads: one namespace's (default: the control plane's), or every namespace's. */
export interface ListPoliciesOptions {
  namespace?: string;
  allNamespaces?: boolean;
}

export interface PutPolicyResult {
  policy: StoredPolicy;
  /** 201 rather than 200. */
  created: boolean;
}

/**
 * Typed calls to the control plane API (docs/API_REFERENCE.md). Failures are HfiError: ApiError when
 * the server answered.
 */
export interface HfiClient {
  readonly baseUrl: string;
  /** A `namespace` argument below absent: the control plane's namespace (a policy's own on a put). */
  listPolicies(options?: ListPoliciesOptions): Promise<PolicyList>;
  getPolicy(name: string, namespace?: string): Promise<StoredPolicy>;
  /** `getPolicy`, but undefined for a policy that does not exist. */
  findPolicy(name: string, namespace?: string): Promise<StoredPolicy | undefined>;
  /** PUT: creates or replaces; a `metadata.resourceVersion` in `policy` must match the stored one. */
  putPolicy(policy: Policy, namespace?: string): Promise<PutPolicyResult>;
  /** Returns the policy as it was. */
  deletePolicy(name: string, namespace?: string): Promise<StoredPolicy>;
  getHalt(): Promise<HaltStatus>;
  /** POST /v1/halt; `created` is false when a halt was in force already (it is kept as it was). */
  halt(request: HaltRequest): Promise<{ status: HaltStatus; created: boolean }>;
  /** DELETE /v1/halt; `lifted` tells what was lifted, if anything. */
  resume(): Promise<HaltStatus>;
  /** The proxies polling any replica of the fleet, and the revision the answering replica serves. */
  getProxies(): Promise<ProxiesStatus>;
  /** The replica that answers, the fleet's leader and replicas, and the revision served. */
  getStatus(): Promise<FleetStatus>;
  /**
   * POST /v1/experiments; with `idempotencyKey`, a retry with the same key and spec returns the
   * experiment the first call started (`created: false`).
   */
  startExperiment(
    spec: ExperimentSpec,
    idempotencyKey?: string,
  ): Promise<{ experiment: Experiment; created: boolean }>;
  getExperiment(id: string): Promise<Experiment>;
  listExperiments(state?: ExperimentState): Promise<ExperimentList>;
  stopExperiment(id: string): Promise<Experiment>;
  getExperimentResults(id: string): Promise<ExperimentResults>;
  /** What the filters reporting to the replica that answers observed, per policy. */
  listObservations(): Promise<ObservationsList>;
  getObservation(policy: string): Promise<PolicyObservationView>;
}

export function createClient({ baseUrl, timeoutMs, token, trace }: ClientOptions): HfiClient {
  const base = baseUrl.replace(/\/+$/, "");

  async function request(
    method: string,
    path: string,
    policyName?: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<Response> {
    const url = `${base}${path}`;
    const headers: Record<string, string> = { accept: "application/json", ...extraHeaders };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (token) headers.authorization = `Bearer ${token}`;
    const started = performance.now();
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined,
      });
    } catch (err) {
      trace?.(`${method} ${url} failed after ${Math.round(performance.now() - started)} ms: ${String(err)}`);
      throw unreachable(base, err, timeoutMs);
    }
    trace?.(`${method} ${url} ${response.status} in ${Math.round(performance.now() - started)} ms`);
    if (!response.ok) throw await toApiError(response, policyName);
    return response;
  }

  const inNamespace = (namespace: string | undefined) =>
    namespace === undefined ? "" : `?namespace=${encodeURIComponent(namespace)}`;
  const policyPath = (name: string, namespace: string | undefined) =>
    `/v1/policies/${encodeURIComponent(name)}${inNamespace(namespace)}`;
  const experimentPath = (id: string) => `/v1/experiments/${encodeURIComponent(id)}`;
  const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

  const client: HfiClient = {
    baseUrl: base,
    listPolicies: async ({ namespace, allNamespaces } = {}) =>
      json(
        await request("GET", `/v1/policies${allNamespaces ? "?allNamespaces=true" : inNamespace(namespace)}`),
      ),
    getPolicy: async (name, namespace) => json(await request("GET", policyPath(name, namespace), name)),
    async findPolicy(name, namespace) {
      try {
        return await client.getPolicy(name, namespace);
      } catch (err) {
        if (err instanceof ApiError && err.code === "NotFound") return undefined;
        throw err;
      }
    },
    async putPolicy(policy, namespace) {
      const { name } = policy.metadata;
      const response = await request("PUT", policyPath(name, namespace), name, policy);
      return { policy: await json(response), created: response.status === 201 };
    },
    deletePolicy: async (name, namespace) => json(await request("DELETE", policyPath(name, namespace), name)),
    getHalt: async () => json(await request("GET", "/v1/halt")),
    async halt(haltRequest) {
      const response = await request("POST", "/v1/halt", undefined, haltRequest);
      return { status: await json(response), created: response.status === 201 };
    },
    resume: async () => json(await request("DELETE", "/v1/halt")),
    getProxies: async () => json(await request("GET", "/v1/status/proxies")),
    getStatus: async () => json(await request("GET", "/v1/status")),
    async startExperiment(spec, idempotencyKey) {
      const headers: Record<string, string> = idempotencyKey ? { "idempotency-key": idempotencyKey } : {};
      const response = await request("POST", "/v1/experiments", undefined, spec, headers);
      return { experiment: await json(response), created: response.status === 201 };
    },
    getExperiment: async (id) => json(await request("GET", experimentPath(id))),
    listExperiments: async (state) =>
      json(await request("GET", `/v1/experiments${state ? `?state=${encodeURIComponent(state)}` : ""}`)),
    stopExperiment: async (id) => json(await request("POST", `${experimentPath(id)}/stop`)),
    getExperimentResults: async (id) => json(await request("GET", `${experimentPath(id)}/results`)),
    listObservations: async () => json(await request("GET", "/v1/observations")),
    getObservation: async (policy) =>
      json(await request("GET", `/v1/observations/${encodeURIComponent(policy)}`)),
  };
  return client;
}
