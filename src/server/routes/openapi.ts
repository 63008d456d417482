import { Hono } from "hono";
import * as v from "valibot";
import { ERROR_CODE_NAMES } from "../../errors.ts";
import { PolicySchema } from "../../policy/index.ts";
import { type JsonSchema, toJsonSchema } from "../../policy/json-schema.ts";
import { HFI_VERSION } from "../../version.ts";
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

const NAME_PARAMETER = { name: "name", in: "path", required: true, schema: { type: "string" } };
const POLICY_BODY = {
  required: true,
  description: "One policy, as JSON or YAML (one document); at most 1 MiB.",
  content: {
    "application/json": { schema: ref("FaultInjectionPolicy") },
    "application/yaml": { schema: ref("FaultInjectionPolicy") },
  },
};
const WRITE_FAILURES = {
  "400": failure("Invalid policy; details name each bad field"),
  "413": failure("Body over 1 MiB"),
  "415": failure("Content-Type is neither JSON nor YAML"),
};

function buildDocument() {
  return {
    openapi: "3.1.0",
    info: {
      title: "hfi control plane",
      version: HFI_VERSION,
      description:
        "FaultInjectionPolicy resources and the RuleSet served to the Envoy filter (docs/CONTROL_PLANE.md).",
    },
    paths: {
      "/healthz": { get: { summary: "Liveness", responses: { "200": ok("Alive", { type: "object" }) } } },
      "/readyz": {
        get: {
          summary: "Readiness: the policy store answers",
          responses: { "200": ok("Ready", { type: "object" }), "503": failure("Store unreachable") },
        },
      },
      "/metrics": {
        get: {
          summary: "Prometheus metrics",
          responses: { "200": { description: "Prometheus text format", content: { "text/plain": {} } } },
        },
      },
      "/openapi.json": {
        get: {
          summary: "This document",
          responses: { "200": ok("OpenAPI 3.1 document", { type: "object" }) },
        },
      },
      "/v1/policies": {
        get: {
          summary: "List policies",
          responses: { "200": ok("Policies sorted by name", ref("PolicyList")) },
        },
        post: {
          summary: "Create a policy",
          requestBody: POLICY_BODY,
          responses: {
            "201": ok("Created; the stored object", ref("FaultInjectionPolicy")),
            ...WRITE_FAILURES,
            "409": failure("AlreadyExists: the name is taken"),
          },
        },
      },
      "/v1/policies/{name}": {
        parameters: [NAME_PARAMETER],
        get: {
          summary: "Get a policy",
          responses: { "200": ok("The policy", ref("FaultInjectionPolicy")), "404": failure("NotFound") },
        },
        put: {
          summary: "Create or replace a policy; metadata.resourceVersion, if sent, must be current",
          requestBody: POLICY_BODY,
          responses: {
            "200": ok("Updated (or unchanged); the stored object", ref("FaultInjectionPolicy")),
            "201": ok("Created; the stored object", ref("FaultInjectionPolicy")),
            ...WRITE_FAILURES,
            "409": failure("Conflict: resourceVersion is stale"),
          },
        },
        delete: {
          summary: "Delete a policy",
          responses: {
            "200": ok("The deleted policy", ref("FaultInjectionPolicy")),
            "404": failure("NotFound"),
          },
        },
      },
      "/v1/config": {
        get: {
          summary:
            "The RuleSet, long-polled: at once if its identity differs from `id` (else its revision from `after`), else held up to `wait` s",
          parameters: [
            { name: "after", in: "query", schema: { type: "integer", minimum: 0 } },
            {
              name: "id",
              in: "query",
              description: "The identity (ETag) of the RuleSet the caller has; decides instead of after",
              schema: { type: "string" },
            },
            { name: "wait", in: "query", schema: { type: "integer", minimum: 0, maximum: 60, default: 25 } },
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
            "400": failure("after or wait is not a non-negative integer"),
          },
        },
      },
      "/v1/halt": {
        get: {
          summary: "The fleet-wide halt, if one is in force",
          responses: { "200": ok("The halt state", ref("HaltStatus")) },
        },
        post: {
          summary: "Halt: every filter stops injecting, and policy writes are refused (423) until resumed",
          requestBody: {
            required: false,
            description: "Optional JSON; `by` defaults to the client's address.",
            content: { "application/json": { schema: toJsonSchema(HaltRequestSchema) } },
          },
          responses: {
            "201": ok("Halted", ref("HaltStatus")),
            "200": ok("A halt was in force already; it is kept unchanged", ref("HaltStatus")),
            "400": failure("Malformed request"),
          },
        },
        delete: {
          summary: "Resume: lift the halt",
          responses: {
            "200": ok("Not halted; `lifted` and `revision` when a halt was lifted", ref("HaltStatus")),
          },
        },
      },
      "/v1/status/proxies": {
        get: {
          summary:
            "The proxy workers long-polling this replica: the revision each has applied, when last seen",
          responses: { "200": ok("Subscribers of this replica", ref("ProxiesStatus")) },
        },
      },
      "/v1/config/stream": {
        get: {
          summary:
            "The RuleSet as Server-Sent Events: `event: config`, `id: <identity>`; honours Last-Event-ID",
          responses: { "200": { description: "An event stream", content: { "text/event-stream": {} } } },
        },
      },
    },
    components: {
      schemas: {
        FaultInjectionPolicy: toJsonSchema(PolicySchema),
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
                required: ["node", "worker", "revision", "ruleSetId", "lastSeen", "polling", "live"],
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
                },
              },
            },
          },
        },
      },
    },
  };
}

let document: ReturnType<typeof buildDocument> | undefined;

/** `GET /openapi.json`: the API described, its schemas generated from the valibot schemas that validate. */
export function openapiRoutes(): Hono {
  const app = new Hono();
  app.get("/openapi.json", (c) => {
    document ??= buildDocument();
    return c.json(document);
  });
  return app;
}
