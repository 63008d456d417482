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
      body?: {
        contains?: string;
        regex?: string;
        json?: { path?: string; exact?: string; regex?: string };
        maxBytes?: number;
      };
      response?: {
        status?: { codes?: number[]; min?: number; max?: number };
        headers?: (StringMatchView & { name: string })[];
      };
    };
    fault: {
      percentage?: number;
      delay?: {
        fixedDelay?: string;
        uniform?: { min?: string; max?: string };
        lognormal?: { p50?: string; p99?: string };
      };
      abort?: { httpStatus?: number; grpcStatus?: unknown };
      response?: {
        status?: number;
        headers?: { set?: unknown[]; remove?: unknown[] };
        delay?: NonNullable<PolicyView["spec"]["fault"]["delay"]>;
        body?: string;
        jsonPatch?: unknown;
      };
    };
  };
  status?: { expiresAt?: string };
}

/**
 * `host=reviews,POST,/api/checkout*,x-user=test`: host (`host=*.example.com` a suffix, `host~` a regex),
 * method, path (`*` marks a prefix, `~` a regex), headers, the body (`body*=text` contains,
 * `body~regex`, `body.user.tier=gold` a JSON value, `body.sku~regex`); then the conditions on the
 * response, as `status=200|201` (`status=500..599` a range) and `response:name=value`.
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
  for (const header of match?.headers ?? []) parts.push(describeHeader(header));
  const body = match?.body;
  if (body) parts.push(describeBody(body));
  const status = match?.response?.status;
  if (status) {
    parts.push(
      `status=${status.codes ? status.codes.join("|") : `${status.min ?? "?"}..${status.max ?? "?"}`}`,
    );
  }
  for (const header of match?.response?.headers ?? []) parts.push(`response:${describeHeader(header)}`);
  return parts.length > 0 ? parts.join(",") : "<all>";
}

function describeBody(body: NonNullable<NonNullable<PolicyView["spec"]["match"]>["body"]>): string {
  if (body.contains !== undefined) return `body*=${body.contains}`;
  if (body.regex !== undefined) return `body~${body.regex}`;
  const json = body.json;
  const value = json?.regex !== undefined ? `~${json.regex}` : `=${json?.exact ?? ""}`;
  return `body.${json?.path ?? "?"}${value}`;
}

function describeHeader(header: StringMatchView & { name: string }): string {
  const value = describeValue(header);
  return value === "" ? header.name : `${header.name}${value.startsWith("~") ? "" : "="}${value}`;
}

/** `v` exact, `v*` prefix, `~v` regex, "" for "present". */
function describeValue(match: StringMatchView): string {
  if (match.exact !== undefined) return match.exact;
  if (match.prefix !== undefined) return `${match.prefix}*`;
  if (match.regex !== undefined) return `~${match.regex}`;
  return "";
}

/**
 * `delay=2s,abort=503@50%`: the faults in the order they run, then the share of requests. A response
 * fault shows what it does in the order it runs: its delay, its status, `headers` for header edits —
 * `response=500`, `response=headers`, `response=2s+500+headers+body`, `response=patch`.
 */
export function describeFault(fault: PolicyView["spec"]["fault"]): string {
  const parts: string[] = [];
  if (fault.delay) parts.push(`delay=${describeDelay(fault.delay)}`);
  if (fault.abort) {
    const { httpStatus, grpcStatus } = fault.abort;
    parts.push(`abort=${grpcStatus !== undefined ? `grpc:${grpcStatus}` : (httpStatus ?? "?")}`);
  }
  if (fault.response) {
    const { status, headers, delay } = fault.response;
    const steps = [
      ...(delay ? [describeDelay(delay)] : []),
      ...(status !== undefined ? [String(status)] : []),
      ...((headers?.set?.length ?? 0) + (headers?.remove?.length ?? 0) > 0 ? ["headers"] : []),
      ...(fault.response.body !== undefined ? ["body"] : []),
      ...(fault.response.jsonPatch !== undefined ? ["patch"] : []),
    ];
    parts.push(`response=${steps.join("+") || "?"}`);
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
