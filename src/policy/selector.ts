import type { PolicySpec } from "./schema.ts";

export type Selector = NonNullable<PolicySpec["selector"]>;

/** Who a proxy says it is (its poll's `service`, `namespace` and `labels`); "" and {} when it did not say. */
export interface WorkloadIdentity {
  readonly service: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

export const NO_IDENTITY: WorkloadIdentity = { service: "", namespace: "", labels: {} };

/**
 * Whether a policy with `selector` applies to the proxy `who`: every condition given must hold —
 * `service` equal (or "*", any service), `namespace` equal, each of `matchLabels` carried with that
 * value. No selector, or an empty one, selects every proxy; a proxy that did not say who it is is
 * selected only by those.
 */
export function selects(selector: Selector | undefined, who: WorkloadIdentity): boolean {
  if (selector === undefined) return true;
  const { service, namespace, matchLabels = {} } = selector;
  if (service !== undefined && service !== "*" && service !== who.service) return false;
  if (namespace !== undefined && namespace !== who.namespace) return false;
  return Object.entries(matchLabels).every(
    ([key, value]) => Object.hasOwn(who.labels, key) && who.labels[key] === value,
  );
}

/** `service=reviews,namespace=shop,app=reviews`, `*` for every proxy: how the CLI shows a selector. */
export function describeSelector(selector: Selector | undefined): string {
  if (selector === undefined) return "*";
  const parts = [
    ...(selector.service !== undefined ? [`service=${selector.service}`] : []),
    ...(selector.namespace !== undefined ? [`namespace=${selector.namespace}`] : []),
    ...Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`),
  ];
  return parts.length > 0 ? parts.join(",") : "*";
}
