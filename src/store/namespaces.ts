import { HfiError } from "../errors.ts";

/** The one namespace of a store that has no others (memory, etcd). */
export const DEFAULT_NAMESPACE = "default";

/**
 * Which namespaces a store's policies live in, as Kubernetes namespaces its resources. `home` is
 * the control plane's own: a request that names no namespace means it, and the halt lives there.
 * `all`: the store holds the policies of every namespace, not only `home`'s.
 */
export interface StoreNamespaces {
  readonly home: string;
  readonly all: boolean;
}

/** memory and etcd: one namespace, `default`. */
export const SINGLE_NAMESPACE: StoreNamespaces = { home: DEFAULT_NAMESPACE, all: false };

/**
 * The namespace a request means (`namespace`, or else `home`); InvalidInput naming `field` for one
 * the store does not hold.
 */
export function resolveNamespace(
  namespaces: StoreNamespaces,
  namespace: string | undefined,
  field = "namespace",
): string {
  if (namespace === undefined || namespace === namespaces.home || namespaces.all) {
    return namespace ?? namespaces.home;
  }
  const message = `must be "${namespaces.home}": this control plane serves that namespace only`;
  throw new HfiError(
    "InvalidInput",
    `${field} "${namespace}" is not served here: this control plane serves namespace "${namespaces.home}" only`,
    [{ path: field, message }],
  );
}

/** Namespace, then name: the order of every list of policies. */
export function byNamespaceAndName(
  a: { metadata: { namespace: string; name: string } },
  b: { metadata: { namespace: string; name: string } },
): number {
  const [x, y] = [a.metadata, b.metadata];
  if (x.namespace !== y.namespace) return x.namespace < y.namespace ? -1 : 1;
  return x.name < y.name ? -1 : x.name > y.name ? 1 : 0;
}
