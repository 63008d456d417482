/**
 * The RuleSet wire format, AssemblyScript twin of src/ruleset/format.ts (keep the two in step).
 * Instances only come out of decodeRuleSet, so everything here is already validated. Strings the
 * request path compares or sends are kept as UTF-8 bytes, encoded once when the rule set arrives.
 */

import { JsonValue } from "../json";
import { PolicyStats } from "../observe/stats";

/**
 * Shared with the control plane and generated from its definitions at build time
 * (src/build-filter/shared-constants.ts): the format this filter writes rules for and the oldest it
 * still reads (anything else is rejected and the old rules stay), the sampling unit, the delay and
 * gRPC status bounds and the fault header's name.
 */
export {
  FAULT_HEADER,
  MAX_BODY_MATCH_BYTES,
  MAX_DELAY_MS,
  MAX_GRPC_STATUS,
  MILLIONTHS_PER_HUNDRED_PERCENT,
  MIN_DELAY_MS,
  MIN_GRPC_STATUS,
  OLDEST_READABLE_RULESET_FORMAT,
  RULESET_FORMAT,
} from "../generated/shared";

/** `expiresAt` of a rule that never expires. */
export const NEVER_EXPIRES: i64 = i64.MAX_VALUE;

export const enum MatchType {
  Exact,
  Prefix,
  Regex,
  /** Headers only: the header exists, whatever its value. */
  Present,
  /** Hosts only: the value ends with these bytes. */
  Suffix,
}

/**
 * A regular expression the control plane compiled to a DFA over UTF-8 bytes; full-match semantics:
 * walk every byte from state 0, match if the final state accepts.
 */
export class Dfa {
  constructor(
    /** Equivalence class of each byte value (256 entries), each below classCount. */
    readonly byteClasses: StaticArray<u8>,
    readonly classCount: i32,
    /** Row-major states × classCount: the next state, or -1 for the dead state. */
    readonly transitions: StaticArray<i32>,
    /** 1 for an accepting state, by state id. */
    readonly accepting: StaticArray<u8>,
  ) {}
}

export class StringMatch {
  constructor(
    readonly type: MatchType,
    /** UTF-8 bytes of an exact, prefix or suffix value; empty for regex and present. */
    readonly value: ArrayBuffer,
    /** Set for regex only. */
    readonly dfa: Dfa | null,
  ) {}
}

export class HeaderMatch {
  constructor(
    /** UTF-8 bytes of the lower-cased header name. */
    readonly name: ArrayBuffer,
    /** A repeated header matches if any of its values does. */
    readonly match: StringMatch,
  ) {}
}

export class RuleMatch {
  constructor(
    /**
     * Matched against `:authority` without its port; null = any host. Exact and suffix values are
     * lower-case and compared without regard to ASCII case; a regex sees the host as sent.
     */
    readonly host: StringMatch | null,
    /** Matched against `:path` without its query string; null = any path. */
    readonly path: StringMatch | null,
    /** UTF-8 bytes of the upper-case method compared exactly with `:method`; null = any method. */
    readonly method: ArrayBuffer | null,
    /** All must match; cheapest first (the decoder orders them: present, exact, prefix, regex). */
    readonly headers: HeaderMatch[],
    /** Gates the rule's response fault once the response headers arrive; never part of the match. */
    readonly response: ResponseMatch | null,
    /** Checked last, on the buffered request body, once every other condition holds; null = none. */
    readonly body: BodyMatch | null,
  ) {}
}

export const enum BodyMatchType {
  /** `value` occurs anywhere in the body. */
  Contains,
  /** `dfa` (which starts with a search loop) accepts at some byte of the body. */
  Regex,
  /** The body is JSON and the value at `path` matches `value` (exact) or `dfa` (full match). */
  Json,
}

/** A condition on the request body; false for a body longer than `maxBytes`, or none. */
export class BodyMatch {
  constructor(
    readonly type: BodyMatchType,
    readonly maxBytes: u32,
    /** UTF-8 bytes: the text looked for (contains), or the JSON value's exact text; empty otherwise. */
    readonly value: ArrayBuffer,
    /** Set for regex, and for a json condition matched by a regex. */
    readonly dfa: Dfa | null,
    /** Members (or decimal array indexes) from the document's root; json only. */
    readonly path: string[],
  ) {}
}

/** Conditions on the upstream's response headers; all must hold. */
export class ResponseMatch {
  constructor(
    /** Status ranges as [min, max] pairs, both ends included; empty = any status. */
    readonly statusRanges: StaticArray<u32>,
    /** As on request headers, cheapest first. */
    readonly headers: HeaderMatch[],
  ) {}
}

/**
 * What a faulted request's response headers become: held for `delay` first, if any; then
 * `removeNames` go, `setPairs` replace every value of their names, `status` (0 = the upstream's)
 * replaces `:status`, `x-hfi-fault` names the rule, and `body`, if any, replaces the upstream's body
 * (or `mergePatch` patches a JSON one).
 * Everything is UTF-8 bytes, encoded once when the rule set arrives.
 */
export class ResponseFault {
  constructor(
    /** 200..599, or 0 to keep the upstream's. */
    readonly status: u32,
    /** `status` as the decimal bytes `:status` takes; empty when 0. */
    readonly statusBytes: ArrayBuffer,
    /** Names and values alternating: name 0, value 0, name 1, … */
    readonly setPairs: ArrayBuffer[],
    readonly removeNames: ArrayBuffer[],
    readonly delay: DelayFault | null,
    /** The body the client gets instead of the upstream's; null keeps the upstream's. */
    readonly body: ArrayBuffer | null,
    /** `body`'s length as the decimal bytes `content-length` takes; empty without a body. */
    readonly bodyLength: ArrayBuffer,
    /** An RFC 7386 merge patch (an object) for a JSON body; null for none. Never with `body`. */
    readonly mergePatch: JsonValue | null,
  ) {}

  /** Whether it changes what the client gets (status, headers or body), beyond a delay. */
  get rewrites(): bool {
    return (
      this.status != 0 ||
      this.setPairs.length > 0 ||
      this.removeNames.length > 0 ||
      this.body != null ||
      this.mergePatch != null
    );
  }
}

export class AbortFault {
  constructor(
    /** What a request that is not gRPC gets; a gRPC one gets 200 with grpc-status when grpcStatus ≥ 0. */
    readonly httpStatus: u32,
    /** UTF-8 bytes of the response body. */
    readonly body: ArrayBuffer,
    /** The reply's extra headers (`x-hfi-fault: <rule name>`), already serialized as pairs. */
    readonly headerPairs: ArrayBuffer,
    /** 1..16 for a gRPC abort (Envoy answers a gRPC request trailers-only, `body` its grpc-message); −1 otherwise. */
    readonly grpcStatus: i32,
  ) {}
}

export const enum DelayKind {
  Fixed,
  /** Every whole millisecond from `ms` to `maxMs` equally likely. */
  Uniform,
  /** ln(delay) normal with median `ms` and standard deviation `sigma`. */
  Lognormal,
}

export class DelayFault {
  constructor(
    readonly kind: DelayKind,
    /** The fixed delay, the uniform's least or the log-normal's median; MIN_DELAY_MS..MAX_DELAY_MS. */
    readonly ms: u32,
    /** The uniform's greatest delay; equal to `ms` otherwise. */
    readonly maxMs: u32,
    /** The log-normal's σ of ln(delay), from its p50 and p99; 0 otherwise. */
    readonly sigma: f64,
    /** The rule name, for the header of a drawn delay. */
    readonly name: string,
    /** A fixed delay's request header value, `<rule name>;delay=<ms>`, as UTF-8 bytes (encoded once). */
    readonly fixedHeader: ArrayBuffer,
  ) {}

  /** The value of `x-hfi-fault` the upstream sees after a delay of `ms`: `<rule name>;delay=<ms>`. */
  headerFor(ms: u32): ArrayBuffer {
    return this.kind == DelayKind.Fixed
      ? this.fixedHeader
      : String.UTF8.encode(this.name + ";delay=" + ms.toString());
  }
}

/**
 * At least one of delay, abort and response; with delay and abort, the delay runs first, then the
 * abort. A response fault never comes with an abort.
 */
export class RuleFault {
  constructor(
    /** 0..1_000_000; a request is faulted when a uniform draw in [0, 1_000_000) is below it. */
    readonly percentageMillionths: u32,
    readonly delay: DelayFault | null,
    readonly abort: AbortFault | null,
    readonly response: ResponseFault | null,
  ) {}
}

/** A metric id that was never defined (the host rejects it harmlessly). */
export const NO_METRIC: u32 = u32.MAX_VALUE;

/**
 * Envoy metric ids of one policy's counters (`hfi.policy.<name>.…`). Not part of the wire format:
 * Metrics defines them when a rule set is applied and keeps one instance per name across rule sets.
 */
export class PolicyCounters {
  aborts: u32 = NO_METRIC;
  delays: u32 = NO_METRIC;
  dryRunMatches: u32 = NO_METRIC;
  responses: u32 = NO_METRIC;
  /** What is observed of the policy's traffic (observe/); null until bound. */
  stats: PolicyStats | null = null;
}

/** Counters of a rule not bound yet: all undefined. */
const UNBOUND: PolicyCounters = new PolicyCounters();

export class Rule {
  /** Set when the rule set is applied (Metrics.bind); shared by every rule of that name since. */
  counters: PolicyCounters = UNBOUND;

  constructor(
    /** The policy name; also the value of the `x-hfi-fault` response header. */
    readonly name: string,
    /** UTF-8 bytes of the name, the value of the `hfi_policy` filter-state property. */
    readonly nameBytes: ArrayBuffer,
    readonly priority: i64,
    readonly match: RuleMatch,
    readonly fault: RuleFault,
    /** Wall-clock milliseconds since the epoch after which the rule is skipped; NEVER_EXPIRES if none. */
    readonly expiresAt: i64,
    /** Evaluate and count (`hfi.policy.<name>.dryrun_matches_total`) but leave the request untouched. */
    readonly dryRun: bool,
  ) {}
}

export class RuleSet {
  constructor(
    readonly format: i32,
    /** Store revision the rules were compiled from. */
    readonly revision: u64,
    /** In evaluation order: the first match wins. */
    readonly rules: Rule[],
    /** Fleet-wide halt: while set, nothing is injected, whatever the rules say. */
    readonly halted: bool,
    /**
     * Not part of the wire format: the rules' prefilter words (rules/prefilter.ts), built once by
     * the decoder, PREFILTER_STRIDE per rule in evaluation order.
     */
    readonly prefilter: StaticArray<u64>,
    /** Not part of the wire format: index of the first rule with a condition (rules.length if none). */
    readonly firstConditioned: i32,
    /** Not part of the wire format: the largest `maxBytes` of a body condition; 0 when no rule has one. */
    readonly maxBodyBytes: u32,
  ) {}

  /** Whether policy `name` still injects under this rule set: not halted, and an enforced rule of it. */
  enforces(name: string): bool {
    if (this.halted) return false;
    const rules = this.rules;
    for (let i = 0, n = rules.length; i < n; i++) {
      const rule = unchecked(rules[i]);
      if (!rule.dryRun && rule.name == name) return true;
    }
    return false;
  }
}
