import type { Dfa } from "../regex/index.ts";

/**
 * The RuleSet wire format: what the control plane serves on /v1/config and the filter decodes.
 * Its twin in AssemblyScript is filter/assembly/rules/ruleset.ts; test/fixtures/rulesets/*.json are
 * golden examples read by the compiler tests and the filter tests alike.
 *
 * Everything is pre-digested so the filter parses nothing but this JSON: header names lower-cased,
 * percentages in millionths, defaults filled in, rules already in evaluation order
 * (priority desc, then name asc).
 */

/**
 * Bumped on any change the current filter could misread; the filter rejects formats it does not know.
 * A rule set is served in the oldest format that carries it (assembleRuleSet), so filters from before
 * a change keep working until a policy needs it: 1 the first; 2 adds `match.host`; 3 adds delays
 * drawn from a distribution (`delay.uniform`, `delay.lognormal`) and gRPC aborts (`abort.grpcStatus`);
 * 4 adds response faults (`fault.response`, `match.response`); 5 adds request-body conditions (`match.body`).
 */
export const RULESET_FORMAT = 5;
/**
 * The format before `match.host` (2). A rule set without host conditions is served in it, so that
 * filters from before host matching keep working until a policy needs the new format.
 */
export const RULESET_FORMAT_WITHOUT_HOST = 1;
/** The format before drawn delays and gRPC aborts (3), for a rule set with host conditions and neither. */
export const RULESET_FORMAT_WITHOUT_FAULTS_V2 = 2;
/** The format before response faults (4), for a rule set with drawn delays or gRPC aborts and none. */
export const RULESET_FORMAT_WITHOUT_RESPONSE = 3;
/** The format before request-body conditions (5), for a rule set with response faults and none. */
export const RULESET_FORMAT_WITHOUT_BODY = 4;
/** The oldest format the filter still reads, so a filter can be upgraded before its control plane. */
export const OLDEST_READABLE_RULESET_FORMAT = RULESET_FORMAT_WITHOUT_HOST;

/** 100% expressed in the filter's sampling unit. */
export const MILLIONTHS_PER_HUNDRED_PERCENT = 1_000_000;

/** The response header naming the policy of an abort, and the request header of a delay. */
export const FAULT_HEADER = "x-hfi-fault";

/** A regex as the filter walks it: the table src/regex/ builds, part of this format like the rest. */
export type { Dfa };

export type StringMatch =
  | { type: "exact"; value: string }
  | { type: "prefix"; value: string }
  | { type: "regex"; dfa: Dfa };

/** Header conditions add `present`: the header exists, whatever its value. */
export type HeaderValueMatch = StringMatch | { type: "present" };

export interface HeaderMatch {
  /** Lower-cased header name. A repeated header matches if any of its values does. */
  name: string;
  match: HeaderValueMatch;
}

/** Host conditions: exact and suffix compare without regard to ASCII case; the value is lower-case. */
export type HostMatch =
  | { type: "exact"; value: string }
  | { type: "suffix"; value: string }
  | { type: "regex"; dfa: Dfa };

export interface RuleMatch {
  /** Matched against `:authority` without its port. Absent = any host. Format 2 on. */
  host?: HostMatch;
  /** Matched against `:path` without its query string. Absent = any path. */
  path?: StringMatch;
  /** Upper-case method, compared exactly with `:method`. Absent = any method. */
  method?: string;
  /** All must match. */
  headers: HeaderMatch[];
  /**
   * A condition on the request body (format 5 on): the decision waits for the body, up to
   * `maxBytes`, only when every other condition of the rule holds.
   */
  body?: BodyMatch;
  /** Conditions on the upstream's response that gate the rule's response fault (never the match). Format 4 on. */
  response?: ResponseMatch;
}

/**
 * A request-body condition, false for a body longer than `maxBytes` or no body at all: `contains`
 * finds `value`'s UTF-8 bytes anywhere; `regex` walks a DFA that matches anywhere (compiled with a
 * leading `[\s\S]*`, so it accepts at the first byte where a match ends); `json` parses the body,
 * follows `path` (object members, or array indexes as decimal digits) and matches the value found —
 * a string's content, any other value as its JSON text — with `match` (full match).
 */
export type BodyMatch =
  | { maxBytes: number; type: "contains"; value: string }
  | { maxBytes: number; type: "regex"; dfa: Dfa }
  | {
      maxBytes: number;
      type: "json";
      path: string[];
      match: { type: "exact"; value: string } | { type: "regex"; dfa: Dfa };
    };

/** All given must hold when the response headers arrive. */
export interface ResponseMatch {
  /** The upstream's status is in one of these ranges (both ends included); absent = any status. */
  statuses?: { min: number; max: number }[];
  /** Conditions on the response headers, as on request headers. */
  headers: HeaderMatch[];
}

/**
 * What the upstream's response headers become: held for `delay` first (drawn per response, as a
 * request delay), then `removeHeaders` (lower-cased names) go, `setHeaders` replace every value of
 * their name, and `status` replaces `:status`.
 */
export interface ResponseFault {
  status?: number;
  setHeaders: { name: string; value: string }[];
  removeHeaders: string[];
  delay?: DelayFault;
  /** Replaces the upstream's body (when it has one): `content-length` becomes its length, `content-encoding` goes. */
  body?: string;
  /** An RFC 7386 merge patch (a JSON object, as text) for a JSON body; never with `body`. */
  mergePatch?: string;
}

/**
 * With `grpcStatus` (1..16) a gRPC request gets a trailers-only gRPC response with that grpc-status
 * and `body` as its grpc-message; any other request gets `httpStatus` (the gRPC status's HTTP twin)
 * and `body`.
 */
export interface AbortFault {
  httpStatus: number;
  body: string;
  grpcStatus?: number;
}

/**
 * Exactly one member: a fixed delay, a uniform one over [minMs, maxMs] (whole milliseconds, both
 * included), or a log-normal one with median p50Ms and 99th percentile p99Ms (p50Ms < p99Ms). The
 * filter draws a delay per request and clamps it to MIN_DELAY_MS..MAX_DELAY_MS.
 */
export type DelayFault =
  | { fixedDelayMs: number }
  | { uniform: { minMs: number; maxMs: number } }
  | { lognormal: { p50Ms: number; p99Ms: number } };

/**
 * At least one of `delay`, `abort` and `response`; with delay and abort, the delay runs first, then
 * the abort. `response` (format 4 on) never comes with `abort`.
 */
export interface RuleFault {
  /** 0..1_000_000; a request is faulted when a uniform draw in [0, 1_000_000) is below it. */
  percentageMillionths: number;
  delay?: DelayFault;
  abort?: AbortFault;
  response?: ResponseFault;
}

export interface Rule {
  /** The policy name; also the value of the `x-hfi-fault` response header. */
  name: string;
  priority: number;
  match: RuleMatch;
  fault: RuleFault;
  /** Milliseconds since the epoch after which the filter skips the rule by its own clock. */
  expiresAt?: number;
  /** Evaluate and count (`hfi.policy.<name>.dryrun_matches_total`) but leave the request untouched. */
  dryRun?: boolean;
}

export interface RuleSet {
  format:
    | typeof RULESET_FORMAT
    | typeof RULESET_FORMAT_WITHOUT_BODY
    | typeof RULESET_FORMAT_WITHOUT_RESPONSE
    | typeof RULESET_FORMAT_WITHOUT_FAULTS_V2
    | typeof RULESET_FORMAT_WITHOUT_HOST;
  /** Store revision the rules were compiled from; monotonic within one store. */
  revision: number;
  /** Fleet-wide halt (`hfi halt`): while true the filter injects nothing, whatever the rules say. */
  halted?: boolean;
  rules: Rule[];
}

/**
 * Query parameters of the filter's long-poll `GET /v1/config?after=REV&id=ID&wait=S&node=N&worker=W`
 * `[&cluster=C][&service=S][&namespace=NS][&labels=K=V,K=V]`: `id` is the identity of the rule set
 * the worker holds — the ETag (`W/"<16 hex digits>"`) of the response that brought it, see
 * ruleset/identity.ts — `node` is Envoy's node id, `worker` an id the worker's VM draws at start,
 * `cluster` Envoy's node cluster; `service`, `namespace` and `labels` say which workload the proxy
 * serves, and decide which policies' selectors pick it (the rule set it is served). The server
 * answers at once when it serves another identity, so a revision number reused by a restarted
 * memory store cannot strand a filter; with `after` alone (filters before identities) it compares
 * revisions. A poll with `after=N&id=I` acknowledges that this worker has applied revision N,
 * identity I (GET /v1/status/proxies). The identity is in the ETag, not the body, so old filters and
 * servers keep working with new ones (they ignore the parameter, and the filter's revision-only ETag
 * fallback).
 */
export const SUBSCRIBER_QUERY = {
  ruleSetId: "id",
  node: "node",
  worker: "worker",
  cluster: "cluster",
  service: "service",
  namespace: "namespace",
  labels: "labels",
} as const;
