/**
 * Who is polling, sent on every long-poll (src/ruleset/format.ts SUBSCRIBER_QUERY) so the control
 * plane can list the subscribers and what each acknowledged (GET /v1/status/proxies) and compile for
 * each only the policies whose selector matches it: Envoy's node id and cluster, a per-root-context
 * worker id, and the workload's service, namespace and labels.
 */
import { getProperty, getPropertyBytes, randomU64 } from "../abi/host";
import { parsePairs } from "../abi/pairs";
import { PluginConfig } from "../config";

/** Node id reported when Envoy has none (no `node.id` in the bootstrap, no `--service-node`). */
export const UNKNOWN_NODE = "unknown";
/** Longest value sent, in characters: the control plane cuts longer ones anyway, and a poll URL stays small. */
const MAX_VALUE_LENGTH = 253;
/** Most labels sent; the rest are left out. */
const MAX_LABELS = 64;

export class Identity {
  constructor(
    readonly node: string,
    readonly worker: string,
    /** Envoy's node cluster; "" when none. */
    readonly cluster: string,
    readonly service: string,
    readonly namespace: string,
    /** Alternating keys and values. */
    readonly labels: string[],
  ) {}

  /** `&node=…&worker=…` and each non-empty part of the workload identity, percent-encoded. */
  query(): string {
    let out = "&node=" + percentEncode(this.node) + "&worker=" + percentEncode(this.worker);
    if (this.cluster.length > 0) out += "&cluster=" + percentEncode(this.cluster);
    if (this.service.length > 0) out += "&service=" + percentEncode(this.service);
    if (this.namespace.length > 0) out += "&namespace=" + percentEncode(this.namespace);
    const labels = this.labels;
    if (labels.length > 0) {
      let joined = "";
      for (let i = 0; i + 1 < labels.length; i += 2) {
        if (i > 0) joined += ",";
        joined += labels[i] + "=" + labels[i + 1];
      }
      out += "&labels=" + percentEncode(joined);
    }
    return out;
  }
}

/**
 * Reads the identity (properties are allowed from on_configure on, not in _initialize) and draws the
 * worker id from the host's CSPRNG: 16 hex digits, new for every root context, so each worker VM's
 * subscription is told apart even when they share the node id. Envoy 1.40 answers the attribute
 * paths `xds.node.*` (its `node.*` are not found, from any context); `node.*` is what older Envoys
 * served. Service, namespace and labels each come from the plugin configuration when it sets them,
 * else from the node metadata Istio writes: `WORKLOAD_NAME`, `NAMESPACE`, `LABELS`.
 */
export function readIdentity(config: PluginConfig): Identity {
  const id = nodeString("id");
  const service = config.service.length > 0 ? config.service : nodeString("metadata\0WORKLOAD_NAME");
  const namespace = config.namespace.length > 0 ? config.namespace : nodeString("metadata\0NAMESPACE");
  const configured = config.labels;
  const labels = configured != null ? configured : metadataLabels();
  return new Identity(
    id.length > 0 ? bounded(id) : UNKNOWN_NODE,
    hex64(randomU64()),
    bounded(nodeString("cluster")),
    bounded(service),
    bounded(namespace),
    boundedLabels(labels),
  );
}

/** A string attribute of the node, `xds.node.<path>` or else `node.<path>`; "" when neither is set. */
function nodeString(path: string): string {
  let value = getProperty("xds\0node\0" + path);
  if (value == null || value.length == 0) value = getProperty("node\0" + path);
  return value != null ? value : "";
}

/** `LABELS` of the node metadata, a string map Envoy serializes as pairs; none when absent or not a map. */
function metadataLabels(): string[] {
  let bytes = getPropertyBytes("xds\0node\0metadata\0LABELS");
  if (bytes == null) bytes = getPropertyBytes("node\0metadata\0LABELS");
  if (bytes == null) return [];
  const pairs = parsePairs(bytes);
  return pairs != null ? pairs : [];
}

function bounded(value: string): string {
  return value.length > MAX_VALUE_LENGTH ? value.slice(0, MAX_VALUE_LENGTH) : value;
}

function boundedLabels(flat: string[]): string[] {
  const count = min(flat.length >> 1, MAX_LABELS);
  const out = new Array<string>(count * 2);
  for (let i = 0; i < count * 2; i++) out[i] = bounded(flat[i]);
  return out;
}

const HEX = "0123456789ABCDEF";
const LOWER_HEX = "0123456789abcdef";

/** 16 lower-case hex digits. */
function hex64(value: u64): string {
  let out = "";
  for (let shift = 60; shift >= 0; shift -= 4) out += LOWER_HEX.charAt(<i32>((value >> shift) & 15));
  return out;
}

/** RFC 3986 percent-encoding of the UTF-8 bytes: everything but unreserved characters is escaped. */
export function percentEncode(text: string): string {
  const bytes = Uint8Array.wrap(String.UTF8.encode(text));
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    const unreserved =
      (b >= 0x30 && b <= 0x39) ||
      (b >= 0x41 && b <= 0x5a) ||
      (b >= 0x61 && b <= 0x7a) ||
      b == 0x2d ||
      b == 0x2e ||
      b == 0x5f ||
      b == 0x7e;
    if (unreserved) {
      out += String.fromCharCode(b);
    } else {
      out += "%" + HEX.charAt(b >> 4) + HEX.charAt(b & 15);
    }
  }
  return out;
}
