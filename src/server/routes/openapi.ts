import { Hono } from "hono";
import * as v from "valibot";
import { ERROR_CODE_NAMES } from "../../errors.ts";
import {
  EXPERIMENT_STATES,
  MAX_EXPERIMENT_POLICIES,
  MAX_EXPERIMENT_POLICY_NAME,
  STOP_METRICS,
} from "../../experiments/index.ts";
import { LATENCY_BOUNDS_MS } from "../../observations/index.ts";
import { GO_DURATION } from "../../policy/duration.ts";
import { NamespaceNameSchema, PolicyNameSchema, PolicySchema } from "../../policy/index.ts";
import { type JsonSchema, toJsonSchema } from "../../policy/json-schema.ts";
import type { StoreNamespaces } from "../../store/index.ts";
import { HFI_VERSION } from "../../version.ts";
import { readerMayCall } from "../auth.ts";
import { HaltRequestSchema } from "./halt.ts";

/** The error body every non-2xx answer carries (src/server/errors.ts writes it). */
export const ErrorBodySchema = v.strictObject({
  error: v.strictObject({
    code: v.pipe(v.picklist(ERROR_CODE_NAMES), v.description("Clients read this, never the message")),
    message: v.string(),
    details: v.array(
      v.strictObject({
        path: v.pipe(
          v.string(),
          v.description('Field path such as spec.match.headers[0].regex; "" for the whole document'),
        ),
        message: v.string(),
      }),
    ),
  }),
});

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonSchema) => ({ "application/json": { schema } });
const ok = (description: string, schema: JsonSchema) => ({ description, content: json(schema) });
const failure = (description: string) => ({ description, content: json(ref("Error")) });

const NAME_PARAMETER = {
  name: "name",
  in: "path",
  required: true,
  description: "metadata.name of the policy; a name that no policy can have is simply not found",
  schema: toJsonSchema(PolicyNameSchema),
};
/** The namespaces this server holds: any (every namespace), or its own alone. */
function namespaceSchema({ home, all }: StoreNamespaces): JsonSchema {
  return all ? toJsonSchema(NamespaceNameSchema) : { type: "string", enum: [home] };
}

function namespaceParameter(namespaces: StoreNamespaces) {
  return {
    name: "namespace",
    in: "query",
    required: false,
    description: `The policy's namespace; absent: the control plane's ("${namespaces.home}")${namespaces.all ? "" : ", the only one it serves"}`,
    schema: namespaceSchema(namespaces),
  };
}

/** The policy schema, its metadata.namespace one this server holds. */
function policySchema(namespaces: StoreNamespaces): JsonSchema {
  const schema = toJsonSchema(PolicySchema) as JsonSchema & {
    properties: { metadata: { properties: Record<string, JsonSchema> } };
  };
  const { metadata } = schema.properties;
  const namespace = {
    ...namespaceSchema(namespaces),
    description:
      "The policy's namespace; absent: the request's. On a write with ?namespace=, it must be that one.",
  };
  return {
    ...schema,
    properties: {
      ...schema.properties,
      metadata: { ...metadata, properties: { ...metadata.properties, namespace } },
    },
  };
}

const ID_PARAMETER = { name: "id", in: "path", required: true, schema: { type: "string" } };
/** How a proxy names itself in a query: 1..256 visible ASCII characters. */
const IDENTITY_PARAMETER = (name: string, description: string) => ({
  name,
  in: "query",
  required: true,
  description,
  schema: { type: "string", pattern: "^[\\x21-\\x7e]{1,256}$" },
});
/**
 * A duration of whole seconds within bounds: Go syntax, with the plainest valid ones first (as the
 * policy's durations are stated; "whole seconds within bounds" is arithmetic JSON Schema cannot do).
 */
const wholeSeconds = (plainest: string, description: string): JsonSchema => ({
  type: "string",
  maxLength: 64,
  anyOf: [{ pattern: plainest }, { pattern: GO_DURATION.source }],
  description,
});
/** A policy inside an experiment: the experiment sets its mode and duration, and its name is shorter. */
const EXPERIMENT_POLICY: JsonSchema = {
  allOf: [
    ref("FaultInjectionPolicy"),
    {
      properties: {
        metadata: { properties: { name: { maxLength: MAX_EXPERIMENT_POLICY_NAME } } },
        spec: {
          properties: {
            mode: { enum: ["dryRun"], description: "Only an observer: the experiment enforces the rest" },
          },
          not: { required: ["duration"] },
        },
      },
    },
  ],
};
/** A count in a query: JSON numbers are exact up to 2^53 - 1, and so is what the server accepts. */
const COUNT = { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
const policyBody = (schema: JsonSchema) => ({
  required: true,
  description: "One policy, as JSON or YAML (one document); at most 1 MiB.",
  content: { "application/json": { schema }, "application/yaml": { schema } },
});
const POLICY_BODY = policyBody(ref("FaultInjectionPolicy"));
/** A create names no revision: there is none yet. */
const NEW_POLICY_BODY = policyBody({
  allOf: [
    ref("FaultInjectionPolicy"),
    { properties: { metadata: { not: { required: ["resourceVersion"] } } } },
  ],
});
const WRITE_FAILURES = {
  "400": failure(
    "Invalid policy; details name each bad field. Besides what the schema states: regexes must compile " +
      "(RE2 subset, at most 1024 DFA states, within the request's 2 s compile budget), fixedDelay must be a " +
      "whole number of milliseconds from 1ms to 1h, duration whole seconds from 1s to 168h, percentage a " +
      "number with at most 2 decimal places, strings valid Unicode (no lone surrogates, UTF-8 bodies), " +
      "no key twice in one object, on PUT metadata.name must equal the name in the URL, and " +
      "metadata.namespace, when given with ?namespace=, must equal it",
  ),
  "413": failure("Body over 1 MiB, or the policy over 1 MiB as JSON (YAML aliases expanded, as stored)"),
  "415": failure("Content-Type is neither JSON nor YAML"),
  "423": failure("Locked: the fleet is halted (POST /v1/halt); DELETE /v1/halt lifts it"),
};

/** Where a created or replaced policy leads: read it, delete it (for stateful testing). */
const BY_NAME = { name: "$response.body#/metadata/name" };
/** What a GET returns can be PUT back as it is: the server-set fields are accepted (and ignored). */
const PUT_BACK = { operationId: "replacePolicy", parameters: BY_NAME, requestBody: "$response.body" };
const POLICY_LINKS = {
  GetPolicy: { operationId: "getPolicy", parameters: BY_NAME },
  DeletePolicy: { operationId: "deletePolicy", parameters: BY_NAME },
  PutPolicyBack: PUT_BACK,
};
const stored = (description: string) => ({
  ...ok(description, ref("FaultInjectionPolicy")),
  links: POLICY_LINKS,
});

const AUTH_FAILURES = {
  "401": failure("Unauthenticated: no bearer token, or one the server does not know"),
};
const WRITE_AUTH_FAILURES = {
  ...AUTH_FAILURES,
  "403": failure("Forbidden: a reader token on a write"),
};

/**
 * Operations under /v1 need a bearer token when the server runs with --auth-token-file: reads (and
 * a filter's observation report) take a reader or writer token, writes a writer token. Without auth the document does not mention it.
 */
function secured<T extends Record<string, { responses: object }>>(path: string, item: T, auth: boolean): T {
  if (!auth) return item;
  return Object.fromEntries(
    Object.entries(item).map(([method, operation]) => [
      method,
      {
        ...operation,
        security: [{ bearer: [] }],
        responses: {
          ...operation.responses,
          ...(readerMayCall(method.toUpperCase(), path) ? AUTH_FAILURES : WRITE_AUTH_FAILURES),
        },
      },
    ]),
  ) as unknown as T;
}

function buildDocument(auth: boolean, namespaces: StoreNamespaces) {
  const NAMESPACE_PARAMETER = namespaceParameter(namespaces);
  return {
    openapi: "3.1.0",
    info: {
      title: "hfi control plane",
      version: HFI_VERSION,
      description:
        "FaultInjectionPolicy resources and the RuleSet served to the Envoy filter (docs/CONTROL_PLANE.md).",
    },
    paths: {
      "/healthz": {
        get: {
          operationId: "healthz",
          summary: "Liveness",
          responses: { "200": ok("Alive", { type: "object" }) },
        },
      },
      "/readyz": {
        get: {
          operationId: "readyz",
          summary: "Readiness: the policy store answers",
          responses: { "200": ok("Ready", { type: "object" }), "503": failure("Store unreachable") },
        },
      },
      "/metrics": {
        get: {
          operationId: "metrics",
          summary: "Prometheus metrics",
          responses: { "200": { description: "Prometheus text format", content: { "text/plain": {} } } },
        },
      },
      "/openapi.json": {
        get: {
          operationId: "openapi",
          summary: "This document",
          responses: { "200": ok("OpenAPI 3.1 document", { type: "object" }) },
        },
      },
      "/": {
        get: {
          operationId: "root",
          summary: "Redirects to the web console",
          responses: { "302": { description: "To /ui" } },
        },
      },
      "/ui": {
        get: {
          operationId: "console",
          summary: "The web console (docs/CONSOLE.md): a page that reads this API with the user's token",
          responses: { "200": { description: "HTML", content: { "text/html": {} } } },
        },
      },
      "/ui/console.js": {
        get: {
          operationId: "consoleScript",
          summary: "The web console's script",
          responses: { "200": { description: "JavaScript", content: { "text/javascript": {} } } },
        },
      },
      "/ui/console.css": {
        get: {
          operationId: "consoleStyle",
          summary: "The web console's style sheet",
          responses: { "200": { description: "CSS", content: { "text/css": {} } } },
        },
      },
      "/v1/policies": secured(
        "/v1/policies",
        {
          get: {
            operationId: "listPolicies",
            summary: "List the policies of a namespace, or of every namespace",
            parameters: [
              NAMESPACE_PARAMETER,
              {
                name: "allNamespaces",
                in: "query",
                required: false,
                description:
                  "true: the policies of every namespace the server holds, whatever namespace says",
                schema: { type: "boolean", default: false },
              },
            ],
            responses: {
              "200": ok("Policies sorted by namespace, then name", ref("PolicyList")),
              "400": failure("namespace is not one this server holds, or allNamespaces is not a boolean"),
            },
          },
          post: {
            operationId: "createPolicy",
            summary: "Create a policy",
            parameters: [NAMESPACE_PARAMETER],
            requestBody: NEW_POLICY_BODY,
            responses: {
              "201": stored("Created; the stored object"),
              ...WRITE_FAILURES,
              "409": failure("AlreadyExists: the name is taken"),
            },
          },
        },
        auth,
      ),
      "/v1/policies/{name}": {
        parameters: [NAME_PARAMETER, NAMESPACE_PARAMETER],
        ...secured(
          "/v1/policies/{name}",
          {
            get: {
              operationId: "getPolicy",
              summary: "Get a policy",
              responses: {
                "200": {
                  ...ok("The policy", ref("FaultInjectionPolicy")),
                  links: { DeletePolicy: POLICY_LINKS.DeletePolicy, PutPolicyBack: PUT_BACK },
                },
                "400": failure("namespace is not one this server holds"),
                "404": failure("NotFound"),
              },
            },
            put: {
              operationId: "replacePolicy",
              summary: "Create or replace a policy; metadata.resourceVersion, if sent, must be current",
              requestBody: POLICY_BODY,
              responses: {
                "200": stored("Updated (or unchanged); the stored object"),
                "201": stored("Created; the stored object"),
                ...WRITE_FAILURES,
                "409": failure(
                  "Conflict: resourceVersion is stale, or given for a policy that does not exist",
                ),
              },
            },
            delete: {
              operationId: "deletePolicy",
              summary: "Delete a policy",
              responses: {
                "200": ok("The deleted policy", ref("FaultInjectionPolicy")),
                "400": failure("namespace is not one this server holds"),
                "404": failure("NotFound"),
              },
            },
          },
          auth,
        ),
      },
      "/v1/config": secured(
        "/v1/config",
        {
          get: {
            operationId: "getConfig",
            summary:
              "The RuleSet, long-polled: at once if its identity differs from `id` (else its revision from `after`), else held up to `wait` s",
            parameters: [
              {
                name: "after",
                in: "query",
                description: "The revision the client has; absent: answer at once",
                schema: COUNT,
              },
              {
                name: "id",
                in: "query",
                description: "The identity (ETag) of the RuleSet the caller has; decides instead of after",
                schema: { type: "string" },
              },
              {
                name: "wait",
                in: "query",
                description: "Seconds to hold the poll when nothing changed; values above 60 are taken as 60",
                schema: { ...COUNT, default: 25 },
              },
              {
                name: "node",
                in: "query",
                description:
                  "The polling proxy's node id; with it the poll is recorded (GET /v1/status/proxies). " +
                  "Never fails a poll: cut to 256 characters, control characters shown as ?",
                schema: { type: "string" },
              },
              {
                name: "worker",
                in: "query",
                description: "The polling worker's id within its node; ignored without node",
                schema: { type: "string" },
              },
            ],
            responses: {
              "200": ok('The current RuleSet; ETag is its identity, W/"<16 hex digits>"', ref("RuleSet")),
              "304": { description: "No change within `wait` seconds" },
              "400": failure("after or wait is not an integer from 0 to 2^53 - 1"),
            },
          },
        },
        auth,
      ),
      "/v1/halt": secured(
        "/v1/halt",
        {
          get: {
            operationId: "getHalt",
            summary: "The fleet-wide halt, if one is in force",
            responses: { "200": ok("The halt state", ref("HaltStatus")) },
          },
          post: {
            operationId: "halt",
            summary: "Halt: every filter stops injecting, and policy writes are refused (423) until resumed",
            requestBody: {
              required: false,
              description: "Optional JSON; `by` defaults to the client's address.",
              content: { "application/json": { schema: toJsonSchema(HaltRequestSchema) } },
            },
            responses: {
              "201": ok("Halted", ref("HaltStatus")),
              "200": ok("A halt was in force already; it is kept unchanged", ref("HaltStatus")),
              "400": failure(
                "Malformed request: not JSON, a key twice, a lone surrogate, or a schema violation",
              ),
              "413": failure("Body over 8 KiB"),
            },
          },
          delete: {
            operationId: "resume",
            summary: "Resume: lift the halt",
            responses: {
              "200": ok("Not halted; `lifted` and `revision` when a halt was lifted", ref("HaltStatus")),
            },
          },
        },
        auth,
      ),
      "/v1/status/proxies": secured(
        "/v1/status/proxies",
        {
          get: {
            operationId: "getProxies",
            summary:
              "The proxy workers long-polling any replica of the fleet: the revision each has applied, when last seen, which replica",
            responses: { "200": ok("Subscribers of every live replica", ref("ProxiesStatus")) },
          },
        },
        auth,
      ),
      "/v1/status": secured(
        "/v1/status",
        {
          get: {
            operationId: "getStatus",
            summary:
              "The fleet: the replica that answers, the leader, every live replica, the revision served",
            responses: { "200": ok("The fleet", ref("FleetStatus")) },
          },
        },
        auth,
      ),
      "/v1/observations": secured(
        "/v1/observations",
        {
          post: {
            operationId: "reportObservations",
            summary:
              "A filter worker's observation report: per-policy deltas since its previous one (reader token suffices)",
            parameters: [
              IDENTITY_PARAMETER("node", "The reporting proxy's node id"),
              IDENTITY_PARAMETER("worker", "The reporting worker's id"),
            ],
            requestBody: {
              required: true,
              description: "Binary (docs/FILTER.md, Observations): a HFO1 header, then 488 bytes per policy",
              content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
            },
            responses: {
              "200": ok("Accepted; `counted` is false for a resent `seq`, already counted", {
                type: "object",
                required: ["seq", "counted"],
                properties: { seq: { type: "integer" }, counted: { type: "boolean" } },
              }),
              "400": failure("A malformed report, or node or worker missing"),
              "413": failure("A report of more than 256 entries"),
            },
          },
          get: {
            operationId: "listObservations",
            summary: "What the filters observed, per policy, summed over every replica, with a summary",
            responses: { "200": ok("Every policy observed, by name", ref("ObservationsList")) },
          },
        },
        auth,
      ),
      "/v1/observations/{name}": secured(
        "/v1/observations/{name}",
        {
          get: {
            operationId: "getObservation",
            parameters: [NAME_PARAMETER],
            summary: "What the filters observed of one policy, with a summary",
            responses: {
              "200": ok("The policy's totals and summary", ref("PolicyObservation")),
              "404": failure("Nothing observed for that policy"),
            },
          },
        },
        auth,
      ),
      "/v1/experiments": secured(
        "/v1/experiments",
        {
          post: {
            operationId: "startExperiment",
            summary:
              "Start an experiment: inline policies, a duration, an optional dry-run baseline, stop conditions",
            parameters: [
              {
                name: "Idempotency-Key",
                in: "header",
                required: false,
                description: "Same key and body: the same experiment (200); same key, other body: 409",
                schema: { type: "string", minLength: 1, maxLength: 256 },
              },
            ],
            requestBody: {
              required: true,
              content: json({
                type: "object",
                required: ["policies", "duration"],
                additionalProperties: false,
                properties: {
                  name: { type: "string", maxLength: 253 },
                  policies: {
                    type: "array",
                    minItems: 1,
                    maxItems: MAX_EXPERIMENT_POLICIES,
                    items: EXPERIMENT_POLICY,
                    description: "Distinct names",
                  },
                  duration: wholeSeconds("^[1-9][0-9]{0,3}s$", "Whole seconds, 1s to 24h"),
                  baseline: wholeSeconds("^[1-9][0-9]?s$", "Whole seconds, 1s to 10m: a dry run first"),
                  stopConditions: {
                    type: "array",
                    maxItems: 8,
                    items: {
                      type: "object",
                      required: ["metric", "threshold"],
                      additionalProperties: false,
                      properties: {
                        metric: { enum: [...STOP_METRICS] },
                        threshold: { type: "number", minimum: 0 },
                        for: wholeSeconds("^(0|[1-9][0-9]{0,2})s$", "0s, or whole seconds up to 1h"),
                      },
                      // An error rate is a fraction.
                      if: { properties: { metric: { const: "errorRate" } } },
                      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, not a promise
                      then: { properties: { threshold: { maximum: 1 } } },
                    },
                  },
                },
              }),
            },
            responses: {
              "201": ok("Started", ref("Experiment")),
              "200": ok("The experiment this Idempotency-Key started", ref("Experiment")),
              "400": failure("Malformed request, named in details"),
              "409": failure("The Idempotency-Key was used with another body"),
              "413": failure("A body over 1 MiB"),
              "423": failure("The fleet is halted"),
            },
          },
          get: {
            operationId: "listExperiments",
            summary: "Experiments, oldest first",
            parameters: [
              { name: "state", in: "query", required: false, schema: { enum: [...EXPERIMENT_STATES] } },
            ],
            responses: {
              "200": ok("Experiments", ref("ExperimentList")),
              "400": failure("Unknown state"),
            },
          },
        },
        auth,
      ),
      "/v1/experiments/{id}": secured(
        "/v1/experiments/{id}",
        {
          get: {
            operationId: "getExperiment",
            parameters: [ID_PARAMETER],
            summary: "One experiment",
            responses: {
              "200": ok("The experiment", ref("Experiment")),
              "404": failure("No such experiment"),
            },
          },
        },
        auth,
      ),
      "/v1/experiments/{id}/stop": secured(
        "/v1/experiments/{id}/stop",
        {
          post: {
            operationId: "stopExperiment",
            parameters: [ID_PARAMETER],
            summary: "Stop it: its policies are deleted; an ended one is left as it is",
            responses: {
              "200": ok("The experiment", ref("Experiment")),
              "404": failure("No such experiment"),
            },
          },
        },
        auth,
      ),
      "/v1/experiments/{id}/results": secured(
        "/v1/experiments/{id}/results",
        {
          get: {
            operationId: "getExperimentResults",
            parameters: [ID_PARAMETER],
            summary: "What was observed per phase, and the observation a Recommender scores",
            responses: {
              "200": ok("Results", ref("ExperimentResults")),
              "404": failure("No such experiment"),
            },
          },
        },
        auth,
      ),
      "/v1/events": secured(
        "/v1/events",
        {
          get: {
            operationId: "streamEvents",
            summary:
              "Experiment, policy and halt events as Server-Sent Events; `id:` increasing; honours Last-Event-ID",
            parameters: [
              {
                name: "Last-Event-ID",
                in: "header",
                required: false,
                description: "The last id received: the retained events after it are sent first",
                schema: { type: "string" },
              },
            ],
            responses: { "200": { description: "An event stream", content: { "text/event-stream": {} } } },
          },
        },
        auth,
      ),
      "/v1/config/stream": secured(
        "/v1/config/stream",
        {
          get: {
            operationId: "streamConfig",
            summary:
              "The RuleSet as Server-Sent Events: `event: config`, `id: <identity>`; honours Last-Event-ID",
            responses: { "200": { description: "An event stream", content: { "text/event-stream": {} } } },
          },
        },
        auth,
      ),
    },
    components: {
      ...(auth && {
        securitySchemes: {
          bearer: {
            type: "http",
            scheme: "bearer",
            description:
              "A token from the server's --auth-token-file: reader tokens read, writer tokens also write",
          },
        },
      }),
      schemas: {
        FaultInjectionPolicy: policySchema(namespaces),
        PolicyList: {
          type: "object",
          required: ["items", "revision"],
          properties: {
            items: { type: "array", items: ref("FaultInjectionPolicy") },
            revision: { type: "integer" },
          },
        },
        RuleSet: {
          type: "object",
          description: "RuleSet wire format 1 (src/ruleset/format.ts).",
          required: ["format", "revision", "rules"],
          properties: {
            format: { const: 1 },
            revision: { type: "integer" },
            halted: { type: "boolean", description: "Present and true while `hfi halt` is in force" },
            rules: {
              type: "array",
              items: {
                type: "object",
                properties: {
                  expiresAt: {
                    type: "integer",
                    description: "ms since the epoch; the filter skips the rule after",
                  },
                  dryRun: { type: "boolean", description: "Evaluate and count, never inject" },
                },
              },
            },
          },
        },
        Error: toJsonSchema(ErrorBodySchema),
        PolicyObservation: {
          type: "object",
          description: "One policy's totals across the proxies reporting to this replica (docs/FILTER.md)",
          required: [
            "name",
            "matched",
            "aborts",
            "delays",
            "dryRun",
            "statuses",
            "otherStatuses",
            "latencyBuckets",
            "latencySumUs",
            "updatedAt",
            "summary",
          ],
          properties: {
            name: { type: "string" },
            matched: { type: "integer" },
            aborts: { type: "integer" },
            delays: { type: "integer" },
            dryRun: { type: "integer" },
            statuses: {
              type: "object",
              additionalProperties: { type: "integer" },
              description: '"0": no response',
            },
            otherStatuses: { type: "integer" },
            latencyBuckets: {
              type: "array",
              items: { type: "integer" },
              description: `Exclusive upper bounds (ms): ${LATENCY_BOUNDS_MS.join(", ")}, then the rest`,
            },
            latencySumUs: { type: "integer" },
            updatedAt: { type: "string", format: "date-time" },
            summary: {
              type: "object",
              properties: {
                requests: { type: "integer" },
                injected: { type: "integer" },
                dryRunMatches: { type: "integer" },
                statusCounts: { type: "object", additionalProperties: { type: "integer" } },
                errorRate: { type: "number" },
                latencyMs: {
                  type: "object",
                  description: "p50, p95, p99 (bucket upper bounds) and mean; null without data",
                },
                dominantStatus: { type: ["integer", "null"] },
              },
            },
          },
        },
        Experiment: {
          type: "object",
          required: ["id", "name", "state", "reason", "createdAt", "policies", "phases", "history"],
          properties: {
            id: { type: "string" },
            name: { type: "string" },
            state: { enum: [...EXPERIMENT_STATES] },
            reason: { type: "string" },
            createdAt: { type: "string", format: "date-time" },
            endsAt: { type: "string", format: "date-time" },
            endedAt: { type: "string", format: "date-time" },
            policies: { type: "array", items: { type: "string" }, description: "As applied: <name>-<id>" },
            durationSeconds: { type: "integer" },
            baselineSeconds: { type: "integer" },
            stopConditions: { type: "array", items: { type: "string" } },
            phases: { type: "object" },
            history: { type: "array", items: { type: "object" } },
          },
        },
        ExperimentList: {
          type: "object",
          required: ["items"],
          properties: { items: { type: "array", items: ref("Experiment") } },
        },
        ExperimentResults: {
          type: "object",
          required: ["id", "state", "reason", "phases", "observation"],
          properties: {
            id: { type: "string" },
            state: { enum: [...EXPERIMENT_STATES] },
            reason: { type: "string" },
            phases: {
              type: "object",
              description:
                "baseline and running: startedAt, endedAt, requests, injected, dryRunMatches, statusCounts, errorRate, latencyMs",
            },
            observation: {
              type: ["object", "null"],
              properties: {
                dominantStatus: { type: ["integer", "null"] },
                meanLatencyMs: { type: ["number", "null"] },
                errorRate: { type: "number" },
              },
            },
          },
        },
        ObservationsList: {
          type: "object",
          required: ["policies"],
          properties: { policies: { type: "array", items: ref("PolicyObservation") } },
        },
        HaltStatus: {
          type: "object",
          required: ["halted"],
          properties: {
            halted: { type: "boolean" },
            reason: { type: "string" },
            by: { type: "string" },
            since: { type: "string", format: "date-time" },
            revision: { type: "integer", description: "The revision of the halt, or of the resume" },
            lifted: { type: "object", description: "After DELETE: the halt that was lifted" },
          },
        },
        FleetStatus: {
          type: "object",
          required: ["revision", "halted", "replica", "leader", "replicas"],
          properties: {
            revision: { type: "integer", description: "The revision this replica serves" },
            halted: { type: "boolean" },
            replica: { type: "string", description: "The replica that answered" },
            leader: {
              type: ["string", "null"],
              description: "The replica that runs the singleton duties; null during a failover",
            },
            replicas: { type: "array", items: { type: "string" }, description: "Every live replica" },
          },
        },
        ProxiesStatus: {
          type: "object",
          required: ["revision", "id", "halted", "proxies"],
          properties: {
            revision: { type: "integer", description: "The revision this replica serves" },
            id: { type: "string", description: "The identity of the RuleSet this replica serves (its ETag)" },
            halted: { type: "boolean" },
            proxies: {
              type: "array",
              items: {
                type: "object",
                required: [
                  "node",
                  "worker",
                  "revision",
                  "ruleSetId",
                  "lastSeen",
                  "polling",
                  "live",
                  "replica",
                ],
                properties: {
                  node: { type: "string" },
                  worker: { type: "string" },
                  revision: {
                    type: ["integer", "null"],
                    description:
                      "Applied revision (its last `after`; the served one when ruleSetId is the served id)",
                  },
                  ruleSetId: {
                    type: ["string", "null"],
                    description: "Identity of the RuleSet it has applied (its last `id`)",
                  },
                  lastSeen: { type: "string", format: "date-time" },
                  polling: { type: "boolean", description: "A poll of it is held now" },
                  live: { type: "boolean", description: "Polling, or seen within its wait plus 10 s" },
                  replica: { type: "string", description: "The replica it polls" },
                },
              },
            },
          },
        },
      },
    },
  };
}

/**
 * `GET /openapi.json`: the API of this server described, its schemas generated from the valibot
 * schemas that validate; with `auth`, its bearer tokens too.
 */
export function openapiRoutes({ auth, namespaces }: { auth: boolean; namespaces: StoreNamespaces }): Hono {
  const app = new Hono();
  let document: ReturnType<typeof buildDocument> | undefined;
  app.get("/openapi.json", (c) => {
    document ??= buildDocument(auth, namespaces);
    return c.json(document);
  });
  return app;
}
