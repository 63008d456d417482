/**
 * Who is polling: Envoy's node id and a per-root-context worker id, sent on every long-poll as
 * `node=` and `worker=` (src/ruleset/format.ts SUBSCRIBER_QUERY) so the control plane can list the
 * subscribers and the revision each one acknowledged (GET /v1/status/proxies).
 */
import { getProperty, randomU64 } from "../abi/host";

/** Node id reported when Envoy has none (no `node.id` in the bootstrap, no `--service-node`). */
export const UNKNOWN_NODE = "unknown";

export class Identity {
  constructor(
    readonly node: string,
    readonly worker: string,
  ) {}

  /** `&node=…&worker=…`, percent-encoded, appended to every poll's query. */
  query(): string {
    return "&node=" + percentEncode(this.node) + "&worker=" + percentEncode(this.worker);
  }
}

/**
 * Reads the node id (allowed from on_configure on, not in _initialize) and draws the worker id from
 * the host's CSPRNG: 16 hex digits, new for every root context, so each worker VM's subscription is
 * told apart even when they share the node id. Envoy 1.40 answers the attribute `xds.node.id`
 * (its `node.id` is not found, from any context); `node.id` is what older Envoys served.
 */
export function readIdentity(): Identity {
  let id = getProperty("xds\0node\0id");
  if (id == null || id.length == 0) id = getProperty("node\0id");
  return new Identity(id != null && id.length > 0 ? id : UNKNOWN_NODE, hex64(randomU64()));
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
