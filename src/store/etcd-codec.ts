import type { IKeyValue } from "etcd3";
import { HfiError } from "../errors.ts";
import type { Policy } from "../policy/index.ts";
import { DEFAULT_NAMESPACE } from "./namespaces.ts";
import type { Halt, StoredPolicy } from "./types.ts";

/**
 * The etcd layout under a prefix: `<prefix>policies/<name>` holds a policy, `<prefix>halt` the halt,
 * both JSON. A policy's resourceVersion and the halt's revision are their keys' mod revisions, so
 * they are not in the values.
 */
export interface EtcdLayout {
  policyKey(name: string): Buffer;
  readonly haltKey: Buffer;
  /** Every key the store reads and watches: from the halt key to the end of the policies. */
  readonly range: { start: Buffer; end: Buffer };
  /** What a key in the range holds; undefined for keys that are neither a policy nor the halt. */
  decode(kv: IKeyValue): Entry | undefined;
}

export type Entry = { kind: "policy"; policy: StoredPolicy } | { kind: "halt"; halt: Halt };

/** What a policy key's value holds: the policy without its resourceVersion (and namespace: etcd has one). */
export type StoredValue = Policy & {
  metadata: { name: string; creationTimestamp: string; generation: number };
};

export function etcdLayout(prefix: string): EtcdLayout {
  const policies = `${prefix}policies/`;
  const halt = `${prefix}halt`;
  const haltKey = Buffer.from(halt);
  return {
    policyKey: (name) => Buffer.from(policies + name),
    haltKey,
    // "halt" sorts before "policies/", so one range covers both.
    range: { start: haltKey, end: prefixEnd(policies) },
    decode(kv) {
      const key = kv.key.toString();
      if (key.startsWith(policies))
        return { kind: "policy", policy: decodePolicy(kv, key.slice(policies.length)) };
      if (key === halt) return { kind: "halt", halt: decodeHalt(kv) };
      return undefined;
    },
  };
}

function parse<T>(kv: IKeyValue, what: string): T {
  try {
    return JSON.parse(kv.value.toString()) as T;
  } catch {
    throw new HfiError("Internal", `etcd key ${kv.key.toString()} does not hold ${what}`);
  }
}

export function decodePolicy(kv: IKeyValue, name: string): StoredPolicy {
  const value = parse<StoredValue>(kv, "a policy");
  const { creationTimestamp, generation } = value.metadata;
  return {
    ...value,
    metadata: {
      name,
      namespace: DEFAULT_NAMESPACE,
      creationTimestamp,
      resourceVersion: kv.mod_revision,
      generation,
    },
  };
}

export function decodeHalt(kv: IKeyValue): Halt {
  const value = parse<Omit<Halt, "revision">>(kv, "a halt");
  return { ...value, revision: Number(kv.mod_revision) };
}

/** A halt's value: everything but its revision. */
export function encodeHalt({ revision: _revision, ...value }: Halt): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** The first key after every key that starts with `prefix`. */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1] = (end[end.length - 1] ?? 0) + 1;
  return end;
}
