/**
 * The filter's Envoy stats. Ids are per VM, so every root context defines them in on_configure; all
 * worker VMs share one Envoy stat per name, so counters sum across workers.
 */
import { MetricType } from "./abi/enums";
import { defineMetric, incrementMetric, recordMetric } from "./abi/host";

export class Metrics {
  private readonly abortsTotal: u32 = defineMetric(MetricType.Counter, "hfi.faults.aborts_total");
  private readonly configRevision: u32 = defineMetric(MetricType.Gauge, "hfi.config.revision");
  private readonly configUpdatesTotal: u32 = defineMetric(MetricType.Counter, "hfi.config.updates_total");
  private readonly configErrorsTotal: u32 = defineMetric(MetricType.Counter, "hfi.config.errors_total");

  abortInjected(): void {
    incrementMetric(this.abortsTotal, 1);
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
