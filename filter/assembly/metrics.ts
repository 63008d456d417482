/**
 * The filter's Envoy stats. Ids are per VM, so every root context defines them in on_configure; all
 * worker VMs share one Envoy stat per name, so counters and ± gauge increments sum across workers.
 */
import { MetricType } from "./abi/enums";
import { defineMetric, incrementMetric, recordMetric } from "./abi/host";
import { Rule } from "./rules";

export class Metrics {
  private readonly abortsTotal: u32 = defineMetric(MetricType.Counter, "hfi.faults.aborts_total");
  private readonly delaysTotal: u32 = defineMetric(MetricType.Counter, "hfi.faults.delays_total");
  private readonly delayDuration: u32 = defineMetric(
    MetricType.Histogram,
    "hfi.faults.delay_duration_milliseconds",
  );
  private readonly delaysActive: u32 = defineMetric(MetricType.Gauge, "hfi.faults.delays_active");
  private readonly overflowTotal: u32 = defineMetric(MetricType.Counter, "hfi.faults.overflow_total");
  private readonly configRevision: u32 = defineMetric(MetricType.Gauge, "hfi.config.revision");
  private readonly configUpdatesTotal: u32 = defineMetric(MetricType.Counter, "hfi.config.updates_total");
  private readonly configErrorsTotal: u32 = defineMetric(MetricType.Counter, "hfi.config.errors_total");
  private readonly dryRunIds: Map<string, u32> = new Map<string, u32>();

  abortInjected(): void {
    incrementMetric(this.abortsTotal, 1);
  }

  delayStarted(): void {
    incrementMetric(this.delaysTotal, 1);
    incrementMetric(this.delaysActive, 1);
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

  /**
   * Counts in `hfi.policy.<name>.dryrun_matches_total`, defined the first time a policy needs it
   * (Envoy hands out a new id per definition, so ids are kept by name across rule set updates).
   */
  dryRunMatched(rule: Rule): void {
    const ids = this.dryRunIds;
    const name = rule.name;
    if (!ids.has(name)) {
      ids.set(name, defineMetric(MetricType.Counter, "hfi.policy." + name + ".dryrun_matches_total"));
    }
    incrementMetric(ids.get(name), 1);
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
