/**
 * The filter's Envoy stats. Ids are per VM, so every root context defines them in on_configure; all
 * worker VMs share one Envoy stat per name, so counters and ± gauge increments sum across workers.
 * Per-policy counters (`hfi.policy.<name>.…`) are defined when a rule set that has the policy is
 * applied, once per name and kind: Envoy hands out a new id on every definition, so the ids are kept
 * by name across rule sets and nothing is defined on the request path.
 */
import { MetricType } from "./abi/enums";
import { defineMetric, incrementMetric, recordMetric } from "./abi/host";
import { PolicyStats } from "./observe";
import { NO_METRIC, PolicyCounters, Rule, RuleSet } from "./rules";

export class Metrics {
  private readonly abortsTotal: u32 = defineMetric(MetricType.Counter, "hfi.faults.aborts_total");
  private readonly delaysTotal: u32 = defineMetric(MetricType.Counter, "hfi.faults.delays_total");
  private readonly delayDuration: u32 = defineMetric(
    MetricType.Histogram,
    "hfi.faults.delay_duration_milliseconds",
  );
  private readonly delaysActive: u32 = defineMetric(MetricType.Gauge, "hfi.faults.delays_active");
  private readonly responsesTotal: u32 = defineMetric(MetricType.Counter, "hfi.faults.responses_total");
  private readonly responsesUntouchedTotal: u32 = defineMetric(
    MetricType.Counter,
    "hfi.faults.responses_untouched_total",
  );
  private readonly patchesCompressed: u32 = defineMetric(
    MetricType.Counter,
    "hfi.faults.patches_skipped_compressed_total",
  );
  private readonly patchesOversize: u32 = defineMetric(
    MetricType.Counter,
    "hfi.faults.patches_skipped_oversize_total",
  );
  private readonly patchesInvalid: u32 = defineMetric(
    MetricType.Counter,
    "hfi.faults.patches_skipped_invalid_total",
  );
  private readonly bodiesOversize: u32 = defineMetric(MetricType.Counter, "hfi.match.bodies_oversize_total");
  private readonly bodiesNotJson: u32 = defineMetric(MetricType.Counter, "hfi.match.bodies_not_json_total");
  private readonly overflowTotal: u32 = defineMetric(MetricType.Counter, "hfi.faults.overflow_total");
  private readonly configRevision: u32 = defineMetric(MetricType.Gauge, "hfi.config.revision");
  private readonly configUpdatesTotal: u32 = defineMetric(MetricType.Counter, "hfi.config.updates_total");
  private readonly configErrorsTotal: u32 = defineMetric(MetricType.Counter, "hfi.config.errors_total");
  /** Per-policy counter ids by policy name; grows with every name ever seen (as Envoy's stats do). */
  private readonly policies: Map<string, PolicyCounters> = new Map<string, PolicyCounters>();

  /** The abort reply was sent for `rule` (alone or after its delay). */
  abortInjected(rule: Rule): void {
    incrementMetric(this.abortsTotal, 1);
    incrementMetric(rule.counters.aborts, 1);
  }

  delayStarted(rule: Rule): void {
    incrementMetric(this.delaysTotal, 1);
    incrementMetric(this.delaysActive, 1);
    incrementMetric(rule.counters.delays, 1);
  }

  /** The delay ran its course after `elapsedMs` (as measured, not as configured). */
  delayEnded(elapsedMs: u64): void {
    incrementMetric(this.delaysActive, -1);
    recordMetric(this.delayDuration, elapsedMs);
  }

  /** The client went away during the delay. */
  delayCancelled(): void {
    incrementMetric(this.delaysActive, -1);
  }

  /** A delay was due but the cap on concurrent delays was reached: the request passed untouched. */
  delayOverflowed(): void {
    incrementMetric(this.overflowTotal, 1);
  }

  /** `rule`'s response fault rewrote a response. */
  responseFaulted(rule: Rule): void {
    incrementMetric(this.responsesTotal, 1);
    incrementMetric(rule.counters.responses, 1);
  }

  /** A response fault was due but the response could not be rewritten: it went on untouched. */
  responseUntouched(): void {
    incrementMetric(this.responsesUntouchedTotal, 1);
  }

  /** A merge patch was due on a compressed body (content-encoding): the body went on unpatched. */
  patchSkippedCompressed(): void {
    incrementMetric(this.patchesCompressed, 1);
  }

  /** A merge patch was due on a body over `maxPatchBodyBytes`: it went on unpatched. */
  patchSkippedOversize(): void {
    incrementMetric(this.patchesOversize, 1);
  }

  /** A merge patch was due on a body that is not JSON: it went on unpatched. */
  patchSkippedInvalid(): void {
    incrementMetric(this.patchesInvalid, 1);
  }

  /** A request body was awaited for a body condition but ran past every rule's `maxBytes`. */
  bodyOversize(): void {
    incrementMetric(this.bodiesOversize, 1);
  }

  /** A json body condition met a body that is not JSON: the condition was false. */
  bodyNotJson(): void {
    incrementMetric(this.bodiesNotJson, 1);
  }

  /** A dry-run rule would have faulted this request. */
  dryRunMatched(rule: Rule): void {
    incrementMetric(rule.counters.dryRunMatches, 1);
  }

  /**
   * Gives every rule of `ruleSet` its policy's counters and observation stats, defining those it can count in that are not
   * defined yet: `dryrun_matches_total` for a dry-run rule, else `aborts_total`,
   * `delays_total` and `responses_total` by its fault. Called before the rule set is swapped in.
   */
  bind(ruleSet: RuleSet): void {
    const rules = ruleSet.rules;
    const policies = this.policies;
    for (let i = 0, n = rules.length; i < n; i++) {
      const rule = unchecked(rules[i]);
      const name = rule.name;
      let counters: PolicyCounters;
      if (policies.has(name)) {
        counters = policies.get(name);
      } else {
        counters = new PolicyCounters();
        counters.stats = new PolicyStats(rule.nameBytes);
        policies.set(name, counters);
      }
      if (rule.dryRun) {
        if (counters.dryRunMatches == NO_METRIC)
          counters.dryRunMatches = policyCounter(name, "dryrun_matches_total");
      } else {
        if (rule.fault.abort != null && counters.aborts == NO_METRIC) {
          counters.aborts = policyCounter(name, "aborts_total");
        }
        const response = rule.fault.response;
        const delays = rule.fault.delay != null || (response != null && response.delay != null);
        if (delays && counters.delays == NO_METRIC) {
          counters.delays = policyCounter(name, "delays_total");
        }
        if (response != null && counters.responses == NO_METRIC) {
          counters.responses = policyCounter(name, "responses_total");
        }
      }
      rule.counters = counters;
    }
  }

  /** Every worker records the same revision, so the last writer is as good as any. */
  rulesApplied(revision: u64): void {
    recordMetric(this.configRevision, revision);
    incrementMetric(this.configUpdatesTotal, 1);
  }

  rulesRejected(): void {
    incrementMetric(this.configErrorsTotal, 1);
  }
}

function policyCounter(name: string, kind: string): u32 {
  return defineMetric(MetricType.Counter, "hfi.policy." + name + "." + kind);
}
