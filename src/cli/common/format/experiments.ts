import { stringify } from "yaml";
import type { Experiment, ExperimentResults, PhaseResult } from "../../../experiments/index.ts";
import { humanDuration } from "./age.ts";
import { renderTable } from "./table.ts";

type Format = "table" | "wide" | "yaml" | "json";

/** `hfi experiment get` output. */
export function formatExperiments(items: Experiment[], format: Format, now: Date, single: boolean): string {
  if (format === "json") return `${JSON.stringify(single ? items[0] : { items }, null, 2)}\n`;
  if (format === "yaml") return stringify(single ? items[0] : { items });
  const header = ["ID", "NAME", "STATE", "REASON", "AGE", "ENDS"];
  if (format === "wide") header.push("POLICIES");
  const rows = items.map((e) => {
    const row = [
      e.id,
      e.name || "<none>",
      e.state,
      e.reason,
      humanDuration(now.getTime() - Date.parse(e.createdAt)),
      e.endsAt ? timeTo(e.endsAt, now) : "<none>",
    ];
    if (format === "wide") row.push(e.policies.join(","));
    return row;
  });
  return `${renderTable(header, rows)}\n`;
}

/** `hfi experiment results` output: one row per phase, then the observation. */
export function formatResults(results: ExperimentResults, format: Format): string {
  if (format === "json") return `${JSON.stringify(results, null, 2)}\n`;
  if (format === "yaml") return stringify(results);
  const phases = Object.entries(results.phases) as [string, PhaseResult][];
  const rows = phases.map(([phase, r]) => [
    phase,
    String(r.requests),
    String(r.injected),
    percent(r.errorRate),
    ms(r.latencyMs.p50),
    ms(r.latencyMs.p99),
    r.latencyMs.mean === null ? "-" : `${r.latencyMs.mean.toFixed(1)}ms`,
    Object.entries(r.statusCounts)
      .map(([code, n]) => `${code}:${n}`)
      .join(","),
  ]);
  const table = renderTable(
    ["PHASE", "REQUESTS", "INJECTED", "ERRORS", "P50", "P99", "MEAN", "STATUS"],
    rows,
  );
  const o = results.observation;
  const summary = o
    ? `observation: dominant status ${o.dominantStatus ?? "-"}, mean latency ${o.meanLatencyMs === null ? "-" : `${o.meanLatencyMs.toFixed(1)}ms`}, error rate ${percent(o.errorRate)}`
    : "observation: none (it never ran)";
  return `${results.id} ${results.state}: ${results.reason}\n${table}\n${summary}\n`;
}

export function percent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}

/** A bucket's exclusive bound: "<64ms"; "-" without data or past the last bound. */
function ms(bound: number | null): string {
  return bound === null ? "-" : `<${bound}ms`;
}

function timeTo(at: string, now: Date): string {
  const left = Date.parse(at) - now.getTime();
  return left > 0 ? `in ${humanDuration(left)}` : `${humanDuration(-left)} ago`;
}
