import { stringify } from "yaml";
import type { ObservationSummary } from "../../../observations/index.ts";
import { describeSelector, POLICY_API_VERSION } from "../../../policy/index.ts";
import type { StoredPolicy } from "../../../store/index.ts";
import type { OutputFormat } from "../args.ts";
import { humanDuration } from "./age.ts";
import { describeFault, describeMatch, type PolicyView } from "./describe-policy.ts";
import { timeLeft } from "./expiry.ts";
import { renderTable } from "./table.ts";

export interface FormatOptions {
  format: OutputFormat;
  /** For AGE. */
  now: Date;
  /** One object asked for by name: yaml/json print it bare rather than in a list. */
  single: boolean;
  /** The store revision a list was read at. */
  revision?: number;
  /** A table of several namespaces' policies: a NAMESPACE column first, as `kubectl get -A` has. */
  namespaces?: boolean;
  /** For `-o wide`: what the filters observed of each policy's traffic, by name. */
  observed?: ReadonlyMap<string, ObservationSummary>;
}

/** `hfi policy get` output; yaml and json read back with `hfi policy apply -f`. */
export function formatPolicies(
  policies: StoredPolicy[],
  { format, now, single, revision, observed, namespaces = false }: FormatOptions,
): string {
  if (format === "yaml" || format === "json") {
    const value = single && policies.length === 1 ? policies[0] : policyList(policies, revision);
    return format === "json" ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
  }
  const views: PolicyView[] = policies;
  const header = [...(namespaces ? ["NAMESPACE"] : []), "NAME", "PRIORITY", "MATCHES", "FAULTS", "AGE"];
  // Only when some policy has a duration, so that lists without any read as before.
  const expires = views.some((p) => p.status?.expiresAt !== undefined);
  if (expires) header.push("EXPIRES");
  if (format === "wide") {
    header.push(
      "GENERATION",
      "RESOURCE-VERSION",
      "CREATED",
      "SELECTOR",
      "REQUESTS",
      "INJECTED",
      "ERROR-RATE",
    );
  }
  const rows = views.map((p) => {
    const row = [
      ...(namespaces ? [p.metadata.namespace ?? "<none>"] : []),
      p.metadata.name,
      String(p.spec.priority ?? 0),
      describeMatch(p.spec.match),
      describeFault(p.spec.fault) + (p.spec.mode === "dryRun" ? " (dry run)" : ""),
      age(p.metadata.creationTimestamp, now),
    ];
    if (expires) row.push(timeLeft(p.status?.expiresAt, now));
    if (format === "wide") {
      const { generation, resourceVersion, creationTimestamp } = p.metadata;
      row.push(
        String(generation ?? "<none>"),
        resourceVersion ?? "<none>",
        creationTimestamp ?? "<none>",
        describeSelector(p.spec.selector),
        ...observedCells(observed?.get(p.metadata.name)),
      );
    }
    return row;
  });
  return `${renderTable(header, rows)}\n`;
}

function policyList(items: StoredPolicy[], revision: number | undefined) {
  return {
    apiVersion: POLICY_API_VERSION,
    kind: "FaultInjectionPolicyList",
    ...(revision !== undefined && { metadata: { resourceVersion: String(revision) } }),
    items,
  };
}

/** REQUESTS, INJECTED, ERROR-RATE; the rate is `<none>` until a response was observed. */
function observedCells(summary: ObservationSummary | undefined): string[] {
  const responses = Object.values(summary?.statusCounts ?? {}).reduce((a, b) => a + b, 0);
  const rate = summary && responses > 0 ? `${(summary.errorRate * 100).toFixed(1)}%` : "<none>";
  return [String(summary?.requests ?? 0), String(summary?.injected ?? 0), rate];
}

function age(created: string | undefined, now: Date): string {
  const at = created ? Date.parse(created) : Number.NaN;
  return Number.isNaN(at) ? "<unknown>" : humanDuration(now.getTime() - at);
}
