/**
 * Plugin configuration, a JSON string in the Envoy filter config (google.protobuf.StringValue):
 * {"cluster":"hfi_control_plane","authority":"hfi-control-plane:8080","pollWaitSeconds":25,
 * "maxActiveDelays":1000,"token":"…","service":"reviews","namespace":"shop","labels":{"app":"reviews"},
 * "filterState":false,"reportIntervalMs":1000,"maxPatchBodyBytes":65536,"bodyMatching":false}.
 * Only `cluster` is required; unknown members are ignored. The token is a secret: no message ever
 * includes it. `service`, `namespace` and `labels` say who this proxy is, for policy selectors; each
 * one set here wins over what Envoy's node metadata says (subscriber/identity.ts).
 */
import { asObject, JsonKind, JsonString, parseJson } from "./json";
import { isHeaderValue, optionalFlag } from "./rules/fields";

const DEFAULT_POLL_WAIT_SECONDS: f64 = 25;
/** The control plane holds a long-poll for at most 60 s. */
const MAX_POLL_WAIT_SECONDS: f64 = 60;
/** Like Envoy's fault filter `max_active_faults`; here per worker thread. */
const DEFAULT_MAX_ACTIVE_DELAYS: f64 = 1000;
const MAX_MAX_ACTIVE_DELAYS: f64 = 1_000_000;
/** Observation reports (observe/): at most one per interval per worker; 0 turns observing off. */
const DEFAULT_REPORT_INTERVAL_MS: f64 = 1000;
const MIN_REPORT_INTERVAL_MS: f64 = 100;
const MAX_REPORT_INTERVAL_MS: f64 = 60_000;
/** Largest response body a merge patch is applied to; a larger one passes untouched. */
const DEFAULT_MAX_PATCH_BODY_BYTES: f64 = 64 * 1024;
/** Envoy's own default buffer limit per stream (per_connection_buffer_limit_bytes). */
const MAX_MAX_PATCH_BODY_BYTES: f64 = 1024 * 1024;

export class PluginConfig {
  constructor(
    /** Envoy cluster that reaches the control plane. */
    readonly cluster: string,
    /** `:authority` of the polls; defaults to the cluster name. */
    readonly authority: string,
    readonly pollWaitSeconds: u32,
    /** Requests a thread may hold paused at once; past it a delay is skipped and counted as overflow. */
    readonly maxActiveDelays: i32,
    /** Bearer token for the control plane (`--auth-token-file`, a reader token); empty for none. */
    readonly token: string,
    /** The proxy's service for policy selectors; "" to take it from the node metadata. */
    readonly service: string,
    /** Its namespace; "" to take it from the node metadata. */
    readonly namespace: string,
    /** Its labels as alternating keys and values; null to take them from the node metadata. */
    readonly labels: string[] | null,
    /**
     * Whether a faulted request gets the `hfi_policy` filter state (`%FILTER_STATE(wasm.hfi_policy)%`
     * in an access log). Off by default: it costs a hostcall and an allocation in Envoy per fault.
     */
    readonly filterState: bool,
    /** Least time between two observation reports of one worker; 0: nothing is observed. */
    readonly reportIntervalMs: u32,
    /** Largest response body a response fault's merge patch is applied to; larger ones pass untouched. */
    readonly maxPatchBodyBytes: u32,
    /**
     * Envoy delivers request bodies while the headers are paused (the Wasm filter's
     * `allow_on_headers_stop_iteration: true`), so a rule's body condition can be waited for. Off, a
     * body condition is false: pausing for a body Envoy would never deliver would hold the request.
     */
    readonly bodyMatching: bool,
  ) {}
}

export class ParsedConfig {
  constructor(
    readonly config: PluginConfig | null,
    readonly error: string,
  ) {}
}

export function parsePluginConfig(bytes: ArrayBuffer): ParsedConfig {
  const obj = asObject(parseJson(bytes));
  if (obj == null) return invalid("not a JSON object");
  const cluster = obj.getString("cluster");
  if (cluster == null || cluster.length == 0) return invalid("cluster: expected a non-empty string");

  let authority = cluster;
  if (obj.has("authority")) {
    const value = obj.getString("authority");
    if (value == null || value.length == 0) return invalid("authority: expected a non-empty string");
    authority = value;
  }

  let wait = DEFAULT_POLL_WAIT_SECONDS;
  if (obj.has("pollWaitSeconds")) {
    wait = obj.getNumber("pollWaitSeconds");
    // A non-number reads as NaN, which fails both comparisons.
    if (!(wait >= 1 && wait <= MAX_POLL_WAIT_SECONDS) || Math.floor(wait) != wait) {
      return invalid("pollWaitSeconds: expected an integer 1..60");
    }
  }
  let maxActiveDelays = DEFAULT_MAX_ACTIVE_DELAYS;
  if (obj.has("maxActiveDelays")) {
    maxActiveDelays = obj.getNumber("maxActiveDelays");
    if (
      !(maxActiveDelays >= 0 && maxActiveDelays <= MAX_MAX_ACTIVE_DELAYS) ||
      Math.floor(maxActiveDelays) != maxActiveDelays
    ) {
      return invalid("maxActiveDelays: expected an integer 0..1000000");
    }
  }
  let token = "";
  if (obj.has("token")) {
    const value = obj.getString("token");
    if (value == null || !isHeaderValue(value))
      return invalid("token: expected a non-empty string of visible ASCII");
    token = value;
  }
  let service = "";
  if (obj.has("service")) {
    const value = obj.getString("service");
    if (value == null || value.length == 0) return invalid("service: expected a non-empty string");
    service = value;
  }
  let namespace = "";
  if (obj.has("namespace")) {
    const value = obj.getString("namespace");
    if (value == null || value.length == 0) return invalid("namespace: expected a non-empty string");
    namespace = value;
  }
  let labels: string[] | null = null;
  if (obj.has("labels")) {
    const members = obj.getObject("labels");
    if (members == null) return invalid("labels: expected an object of strings");
    labels = [];
    for (let i = 0; i < members.keys.length; i++) {
      const value = members.values[i];
      if (value.kind != JsonKind.String) return invalid("labels." + members.keys[i] + ": expected a string");
      labels.push(members.keys[i]);
      labels.push(changetype<JsonString>(value).value);
    }
  }
  const filterState = optionalFlag(obj, "filterState");
  if (filterState < 0) return invalid("filterState: expected a boolean");
  const bodyMatching = optionalFlag(obj, "bodyMatching");
  if (bodyMatching < 0) return invalid("bodyMatching: expected a boolean");
  let reportIntervalMs = DEFAULT_REPORT_INTERVAL_MS;
  if (obj.has("reportIntervalMs")) {
    reportIntervalMs = obj.getNumber("reportIntervalMs");
    if (
      !(
        reportIntervalMs == 0 ||
        (reportIntervalMs >= MIN_REPORT_INTERVAL_MS && reportIntervalMs <= MAX_REPORT_INTERVAL_MS)
      ) ||
      Math.floor(reportIntervalMs) != reportIntervalMs
    ) {
      return invalid("reportIntervalMs: expected 0 or 100..60000");
    }
  }
  let maxPatchBodyBytes = DEFAULT_MAX_PATCH_BODY_BYTES;
  if (obj.has("maxPatchBodyBytes")) {
    maxPatchBodyBytes = obj.getNumber("maxPatchBodyBytes");
    if (
      !(maxPatchBodyBytes >= 1 && maxPatchBodyBytes <= MAX_MAX_PATCH_BODY_BYTES) ||
      Math.floor(maxPatchBodyBytes) != maxPatchBodyBytes
    ) {
      return invalid("maxPatchBodyBytes: expected an integer 1..1048576");
    }
  }
  return new ParsedConfig(
    new PluginConfig(
      cluster,
      authority,
      <u32>wait,
      <i32>maxActiveDelays,
      token,
      service,
      namespace,
      labels,
      filterState == 1,
      <u32>reportIntervalMs,
      <u32>maxPatchBodyBytes,
      bodyMatching == 1,
    ),
    "",
  );
}

function invalid(reason: string): ParsedConfig {
  return new ParsedConfig(null, reason);
}

/**
 * Headers of a call to the control plane as name, value pairs: `:method`, `:path` (index 3, set by
 * the caller), `:authority`, `accept: application/json` (every answer is JSON), and the token if
 * configured.
 */
export function controlPlaneHeaders(config: PluginConfig, method: string): string[] {
  const headers = [
    ":method",
    method,
    ":path",
    "",
    ":authority",
    config.authority,
    "accept",
    "application/json",
  ];
  if (config.token.length > 0) {
    headers.push("authorization");
    headers.push("Bearer " + config.token);
  }
  return headers;
}
