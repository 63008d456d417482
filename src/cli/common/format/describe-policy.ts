import type { Selector } from "../../../policy/selector.ts";

/* The MATCHES and FAULTS columns of `hfi policy get`, shared with the web console: nothing here may
 * import more than types, so the console's bundle stays small. */

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
export interface PolicyView {
  metadata: {
    name: string;
    namespace?: string;
    creationTimestamp?: string;
    resourceVersion?: string;
    generation?: number;
  };
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

/**
 * `host=reviews,POST,/api/checkout*,x-user=test`: host (`host=*.example.com` a suffix, `host~` a regex),
 * method, path (`*` marks a prefix, `~` a regex), headers.
 */
export function describeMatch(match: PolicyView["spec"]["match"]): string {
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
export function describeFault(fault: PolicyView["spec"]["fault"]): string {
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
