import { stringify } from "yaml";
import { describeSelector, POLICY_API_VERSION, type Selector } from "../../../policy/index.ts";
import type { StoredPolicy } from "../../../store/index.ts";
import type { OutputFormat } from "../args.ts";
import { humanDuration } from "./age.ts";
import { timeLeft } from "./expiry.ts";
import { renderTable } from "./table.ts";

/**
 * What the table reads of a policy. Deliberately looser than the schema's types, so that a match or
 * fault kind the schema gains later is shown rather than breaking the build.
 */
interface StringMatchView {
  exact?: string;
  prefix?: string;
  regex?: string;
  present?: boolean;
}
interface PolicyView {
  metadata: { name: string; creationTimestamp?: string; resourceVersion?: string; generation?: number };
  spec: {
    priority?: number;
    mode?: string;
    selector?: Selector;
    match?: {
      host?: { exact?: string; suffix?: string; regex?: string };
      path?: StringMatchView;
      method?: { exact?: string };
      headers?: (StringMatchView & { name: string })[];
    };
    fault: {
      percentage?: number;
      delay?: {
        fixedDelay?: string;
        uniform?: { min?: string; max?: string };
        lognormal?: { p50?: string; p99?: string };
      };
      abort?: { httpStatus?: number; grpcStatus?: unknown };
    };
  };
  status?: { expiresAt?: string };
}

export interface FormatOptions {
  format: OutputFormat;
  /** For AGE. */
  now: Date;
  /** One object asked for by name: yaml/json print it bare rather than in a list. */
  single: boolean;
  /** The store revision a list was read at. */
  revision?: number;
}

/** `hfi policy get` output; yaml and json read back with `hfi policy apply -f`. */
export function formatPolicies(
  policies: StoredPolicy[],
  { format, now, single, revision }: FormatOptions,
): string {
  if (format === "yaml" || format === "json") {
    const value = single && policies.length === 1 ? policies[0] : policyList(policies, revision);
    return format === "json" ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
  }
  const views: PolicyView[] = policies;
  const header = ["NAME", "PRIORITY", "MATCHES", "FAULTS", "AGE"];
  // Only when some policy has a duration, so that lists without any read as before.
  const expires = views.some((p) => p.status?.expiresAt !== undefined);
  if (expires) header.push("EXPIRES");
  if (format === "wide") header.push("GENERATION", "RESOURCE-VERSION", "CREATED", "SELECTOR");
  const rows = views.map((p) => {
    const row = [
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

/**
 * `host=reviews,POST,/api/checkout*,x-user=test`: host (`host=*.example.com` a suffix, `host~` a regex),
 * method, path (`*` marks a prefix, `~` a regex), headers.
 */
function describeMatch(match: PolicyView["spec"]["match"]): string {
  const parts: string[] = [];
  const host = match?.host;
  if (host) {
    parts.push(
      host.regex !== undefined ? `host~${host.regex}` : `host=${host.exact ?? `*${host.suffix ?? ""}`}`,
    );
  }
  if (match?.method?.exact) parts.push(match.method.exact);
  if (match?.path) parts.push(describeValue(match.path));
  for (const header of match?.headers ?? []) {
    const value = describeValue(header);
    parts.push(value === "" ? header.name : `${header.name}${value.startsWith("~") ? "" : "="}${value}`);
  }
  return parts.length > 0 ? parts.join(",") : "<all>";
}

/** `v` exact, `v*` prefix, `~v` regex, "" for "present". */
function describeValue(match: StringMatchView): string {
  if (match.exact !== undefined) return match.exact;
  if (match.prefix !== undefined) return `${match.prefix}*`;
  if (match.regex !== undefined) return `~${match.regex}`;
  return "";
}

/** `delay=2s,abort=503@50%`: the faults in the order they run, then the share of requests. */
function describeFault(fault: PolicyView["spec"]["fault"]): string {
  const parts: string[] = [];
  if (fault.delay) parts.push(`delay=${describeDelay(fault.delay)}`);
  if (fault.abort) {
    const { httpStatus, grpcStatus } = fault.abort;
    parts.push(`abort=${grpcStatus !== undefined ? `grpc:${grpcStatus}` : (httpStatus ?? "?")}`);
  }
  const percentage = fault.percentage ?? 100;
  return `${parts.join(",") || "<none>"}${percentage === 100 ? "" : `@${percentage}%`}`;
}

/** `2s`, `10ms..50ms` (uniform), `p50:20ms/p99:300ms` (log-normal). */
function describeDelay({
  fixedDelay,
  uniform,
  lognormal,
}: NonNullable<PolicyView["spec"]["fault"]["delay"]>) {
  if (uniform) return `${uniform.min ?? "?"}..${uniform.max ?? "?"}`;
  if (lognormal) return `p50:${lognormal.p50 ?? "?"}/p99:${lognormal.p99 ?? "?"}`;
  return fixedDelay ?? "?";
}

function age(created: string | undefined, now: Date): string {
  const at = created ? Date.parse(created) : Number.NaN;
  return Number.isNaN(at) ? "<unknown>" : humanDuration(now.getTime() - at);
}
