import { isDeepStrictEqual } from "node:util";
import { type ConsolaInstance, consola } from "consola";
import * as v from "valibot";
import { HfiError } from "../errors.ts";
import { KubeApiError, type KubeClient, toHfiError } from "../kubernetes/client.ts";
import {
  API_GROUP,
  API_VERSION,
  HALT_KIND,
  HALT_NAME,
  HALT_PLURAL,
  POLICY_PLURAL,
} from "../kubernetes/crd.ts";
import { startLeaseElection } from "../kubernetes/lease.ts";
import { type Policy, PolicySchema, toFieldIssues } from "../policy/index.ts";
import type { PropagationOf } from "./config.ts";
import { createWatchFanOut } from "./fan-out.ts";
import { durationMs, hasExpired, lockedError, MAX_HALT_TEXT, staleVersionError } from "./lifecycle.ts";
import { byNamespaceAndName, resolveNamespace, type StoreNamespaces } from "./namespaces.ts";
import type { Halt, PolicyStore, StoredPolicy, StoreState, WatchEvent } from "./types.ts";

export interface KubernetesStoreOptions {
  client: KubeClient;
  /** The control plane's namespace: its FaultInjectionHalt and Lease, and policies written without one. */
  namespace: string;
  /** Hold the FaultInjectionPolicies of every namespace, not only `namespace`'s. Default false. */
  allNamespaces?: boolean;
  /** Deadline of each API call, and longest a write waits for its own watch event. Default 5000. */
  requestTimeoutMs?: number;
  /** Clock for `status.expiresAt`. */
  now?: () => Date;
  logger?: Pick<ConsolaInstance, "info" | "warn" | "error">;
  onWatcherError?: (err: unknown) => void;
  onError?: (operation: string, err: unknown) => void;
  /**
   * Keep each policy's `status` (observedGeneration, the Accepted condition, expiresAt) up to date.
   * A status write changes the resource's resourceVersion, so a client's write based on the version
   * it read just before can then meet a Conflict, as with any Kubernetes controller. Default false.
   */
  writeStatus?: boolean;
  /**
   * Elect a leader among the stores on this namespace through the Lease `hfi-leader`: only the leader
   * writes status, stamps expiries and deletes expired policies. Without it every store does.
   * `identity`: this replica's name, the Lease's holder while it leads.
   */
  leaderElection?: { leaseDurationSeconds?: number; identity?: string };
  /** With `writeStatus`: the Propagated condition, from how far each policy has got to the proxies. */
  propagation?: { of?: PropagationOf };
}

/** How often the leader brings the Propagated conditions up to date. */
const PROPAGATION_REFRESH_MS = 1000;

/** When a policy with `spec.duration` expires: written with the spec, so one write restarts the clock. */
export const EXPIRES_AT_ANNOTATION = "hfi.dev/expires-at";
const MAX_CAS_ATTEMPTS = 10;
/** Longest that watch events wait for writes of this store in flight. */
const HOLD_MS = 100;

interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion: string;
  generation?: number;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}
interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: { expiresAt?: string; observedGeneration?: number; conditions?: Condition[] };
}
interface KubeList {
  metadata: { resourceVersion: string };
  items: KubeObject[];
}
interface KubeWatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: KubeObject & { code?: number; message?: string };
}
type Resource = "policies" | "halt";

/**
 * Policies as FaultInjectionPolicy custom resources in one namespace (or in every namespace), and
 * the halt as the home namespace's FaultInjectionHalt `fleet`: `kubectl` and GitOps tools change
 * them as well as hfi does. A policy outside the home namespace targets its own namespace's proxies
 * unless its selector names one (the policies read say so in `spec.selector.namespace`). Each
 * store keeps an informer's cache — list, then watch from the list's resourceVersion with
 * bookmarks, a full relist when the watch has expired (410 Gone) — and serves lists and watch
 * events from it. Revisions are Kubernetes resourceVersions (etcd revisions), the store's revision
 * the newest change to its own objects it has seen; a write returns once the cache has it, so the
 * writer reads its own writes. Writes use optimistic concurrency on `metadata.resourceVersion`.
 * A policy's expiry is the annotation hfi.dev/expires-at, written with the spec; every store deletes
 * expired policies (the delete is conditional on the resourceVersion, so a re-applied policy stays).
 */
export async function createKubernetesStore(options: KubernetesStoreOptions): Promise<PolicyStore> {
  const { client, namespace, requestTimeoutMs = 5000, logger = consola } = options;
  const namespaces: StoreNamespaces = { home: namespace, all: options.allNamespaces === true };
  const now = options.now ?? (() => new Date());
  const onError = options.onError ?? (() => {});
  const watchers = createWatchFanOut(
    options.onWatcherError ?? ((err) => logger.error("policy watch listener failed", err)),
  );
  const group = `/apis/${API_GROUP}/${API_VERSION}`;
  const inNamespace = (ns: string) => `${group}/namespaces/${encodeURIComponent(ns)}`;
  /** What the informers list and watch: the policies of one namespace or of all, the home namespace's halt. */
  const paths: Record<Resource, string> = {
    policies: namespaces.all ? `${group}/${POLICY_PLURAL}` : `${inNamespace(namespace)}/${POLICY_PLURAL}`,
    halt: `${inNamespace(namespace)}/${HALT_PLURAL}`,
  };
  const policiesIn = (ns: string) => `${inNamespace(ns)}/${POLICY_PLURAL}`;
  const policyPath = (ns: string, name: string) => `${policiesIn(ns)}/${encodeURIComponent(name)}`;
  const pathOf = (object: KubeObject) => policyPath(namespaceOf(object), object.metadata.name);
  const haltPath = `${paths.halt}/${HALT_NAME}`;
  const namespaceOf = (object: KubeObject) => object.metadata.namespace ?? namespace;
  /** Policies are keyed `namespace/name`. */
  const keyOf = (object: KubeObject) => `${namespaceOf(object)}/${object.metadata.name}`;

  /** By keyOf. */
  const policies = new Map<string, KubeObject>();
  let haltObject: KubeObject | undefined;
  /** The newest change to this store's objects seen; a new listener hears only of later ones. */
  let revision = 0;
  /** How far each watch has got (events and bookmarks): a write waits until its own has got there. */
  const progress: Record<Resource, number> = { policies: 0, halt: 0 };
  const waiters = new Set<{ resource: Resource; at: number; resolve: () => void }>();
  /**
   * The revision of each recent delete, by uid: a DELETE of a custom resource answers a Status
   * without one, so the deleter learns it from the watch.
   */
  const deletedAt = new Map<string, number>();
  const deleteWaiters = new Map<string, (revision: number) => void>();
  const expiryTimers = new Map<string, ReturnType<typeof setTimeout>>();
  const invalidLogged = new Set<string>();
  const stop = new AbortController();
  const electionListeners = new Set<(leading: boolean) => void>();
  const election =
    options.leaderElection &&
    startLeaseElection({
      client,
      namespace,
      ...options.leaderElection,
      logger,
      onChange: (leading) => {
        for (const listener of electionListeners) listener(leading);
        if (!leading) return;
        // The new leader catches up on what its predecessor may have left: statuses, expiries.
        for (const object of policies.values())
          applyPolicy("put", object, Number(object.metadata.resourceVersion));
      },
    });
  const leads = () => election?.isLeader() ?? true;

  async function call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      const hfiError = toHfiError(err);
      // Backend failures only, not answers such as NotFound or Conflict.
      if (hfiError.code === "Unavailable" || hfiError.code === "Internal") onError(operation, err);
      throw hfiError;
    }
  }

  async function getOrUndefined(path: string): Promise<KubeObject | undefined> {
    try {
      return await client.request<KubeObject>("GET", path);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** The policy a custom resource holds, or undefined (and logged once) when it is not a valid one. */
  function toStored(object: KubeObject): StoredPolicy | undefined {
    const { name, resourceVersion, generation = 1, creationTimestamp, annotations } = object.metadata;
    const policyNamespace = namespaceOf(object);
    const expiresAt = annotations?.[EXPIRES_AT_ANNOTATION];
    const result = v.safeParse(PolicySchema, {
      apiVersion: object.apiVersion,
      kind: object.kind,
      metadata: { name },
      spec: object.spec,
      ...(object.spec?.duration !== undefined && expiresAt !== undefined && { status: { expiresAt } }),
    });
    if (!result.success) {
      const key = `${policyNamespace}/${name}@${resourceVersion}`;
      if (!invalidLogged.has(key)) {
        invalidLogged.add(key);
        logger.warn(`FaultInjectionPolicy ${policyNamespace}/${name} is not valid and is left out`, {
          issue: result.issues[0]?.message,
        });
      }
      return undefined;
    }
    const metadata = { name, namespace: policyNamespace, creationTimestamp, resourceVersion, generation };
    return { ...result.output, spec: targetingOwnNamespace(result.output.spec, policyNamespace), metadata };
  }

  /**
   * A policy outside the home namespace targets the proxies of its own namespace unless its selector
   * names another: the selector as the distributor applies it.
   */
  function targetingOwnNamespace(spec: Policy["spec"], policyNamespace: string): Policy["spec"] {
    if (policyNamespace === namespace || spec.selector?.namespace !== undefined) return spec;
    return { ...spec, selector: { ...spec.selector, namespace: policyNamespace } };
  }

  function toHalt(object: KubeObject): Halt {
    const spec = (object.spec ?? {}) as { reason?: string; by?: string };
    return {
      reason: spec.reason ?? "",
      ...(spec.by && { by: spec.by }),
      since: new Date(object.metadata.creationTimestamp).toISOString(),
      revision: Number(object.metadata.resourceVersion),
    };
  }

  const held: WatchEvent[] = [];
  let writing = 0;
  let holdTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Events wait while this store's own writes are in flight (at most HOLD_MS), so that a writer
   * resumes before any listener hears of its change, even when the watch brings it before the
   * write's answer.
   */
  function emit(event: WatchEvent): void {
    revision = Math.max(revision, event.revision);
    held.push(event);
    if (writing === 0) flush();
    else holdTimer ??= setTimeout(flush, HOLD_MS);
  }

  function flush(): void {
    clearTimeout(holdTimer);
    holdTimer = undefined;
    for (const event of held.splice(0)) watchers.deliver(event);
  }

  async function write<T>(operation: string, run: () => Promise<T>): Promise<T> {
    writing += 1;
    try {
      return await call(operation, run);
    } finally {
      writing -= 1;
      if (writing === 0) flush();
    }
  }

  function advance(resource: Resource, resourceVersion: string): void {
    progress[resource] = Math.max(progress[resource], Number(resourceVersion));
    for (const waiter of waiters) {
      if (waiter.resource === resource && progress[resource] >= waiter.at) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /** Resolves once the cache has seen `resource` at `resourceVersion` (or after the deadline: the write is done anyway). */
  function caughtUp(resource: Resource, resourceVersion: string): Promise<void> {
    if (progress[resource] >= Number(resourceVersion)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = { resource, at: Number(resourceVersion), resolve };
      waiters.add(waiter);
      setTimeout(() => {
        if (waiters.delete(waiter)) resolve();
      }, requestTimeoutMs).unref?.();
    });
  }

  function scheduleExpiry(object: KubeObject, policy: StoredPolicy | undefined): void {
    const { name, resourceVersion } = object.metadata;
    const key = keyOf(object);
    clearTimeout(expiryTimers.get(key));
    expiryTimers.delete(key);
    const expiresAt = policy?.status?.expiresAt;
    if (expiresAt === undefined) return;
    const timer = setTimeout(
      () => {
        expiryTimers.delete(key);
        // A store that becomes leader later deletes it then.
        if (!leads()) return;
        // Only this version: a policy applied again since then has a later expiry.
        client
          .request("DELETE", pathOf(object), { preconditions: { resourceVersion } })
          .catch((err: unknown) => {
            if (err instanceof KubeApiError && (err.status === 404 || err.status === 409)) return;
            onError("expire", err);
            logger.warn(`could not delete expired policy ${name}; retrying`, err);
            scheduleExpiry(object, policy);
          });
      },
      Math.max(0, Date.parse(expiresAt) - now().getTime()),
    );
    timer.unref?.();
    expiryTimers.set(key, timer);
  }

  function applyPolicy(type: "put" | "delete", object: KubeObject, eventRevision: number): void {
    const key = keyOf(object);
    const before = policies.get(key);
    const previous = before && toStored(before);
    if (type === "delete") {
      policies.delete(key);
      definedAt.delete(key);
      scheduleExpiry(object, undefined);
      if (previous) {
        const expired = hasExpired(previous, now().getTime());
        emit({
          type,
          policy: previous,
          revision: eventRevision,
          ...(expired && { reason: "expired" as const }),
        });
      } else revision = Math.max(revision, eventRevision);
      return;
    }
    policies.set(key, object);
    const current = toStored(object);
    if (options.writeStatus && leads()) {
      reconcileStatusSoon(key);
      if (current) stampExpiry(object, current);
    }
    // With the resource's new resourceVersion, even when only its status changed.
    scheduleExpiry(object, current);
    // Only the status changed (this store's own status writes): nothing for the rule set.
    if (before && sameDefinition(before, object)) return;
    if (current) definedAt.set(key, eventRevision);
    else definedAt.delete(key);
    if (current) emit({ type: "put", policy: current, revision: eventRevision });
    // No longer valid: to the filters it is gone.
    else if (previous) emit({ type: "delete", policy: previous, revision: eventRevision });
    else revision = Math.max(revision, eventRevision);
  }

  const statusDue = new Set<string>();
  /** The revision at which each policy was last defined (a status write is none): what proxies must apply. */
  const definedAt = new Map<string, number>();
  const propagationRefresh =
    options.writeStatus && options.propagation
      ? setInterval(() => {
          if (leads()) for (const key of policies.keys()) reconcileStatusSoon(key);
        }, PROPAGATION_REFRESH_MS)
      : undefined;
  propagationRefresh?.unref?.();

  /** Brings a policy's status up to date after this turn's events (several events, one write). */
  function reconcileStatusSoon(key: string): void {
    if (statusDue.has(key)) return;
    statusDue.add(key);
    setImmediate(() => {
      statusDue.delete(key);
      const object = policies.get(key);
      if (!object || stop.signal.aborted) return;
      const status = desiredStatus(object);
      if (isDeepStrictEqual(object.status ?? {}, status)) return;
      client.request("PUT", `${pathOf(object)}/status`, { ...object, status }).catch((err: unknown) => {
        // Changed or gone meanwhile: the watch brings that change, and with it another try.
        if (err instanceof KubeApiError && (err.status === 409 || err.status === 404)) return;
        onError("status", err);
        logger.warn(`could not write the status of policy ${key}`, { error: (err as Error).message });
      });
    });
  }

  /**
   * Gives a timed policy written by someone else (`kubectl apply`) its expiry: its duration from now.
   * Conditional on its resourceVersion, so of several replicas one stamps it.
   */
  function stampExpiry(object: KubeObject, policy: StoredPolicy): void {
    const lifetime = durationMs(policy);
    if (lifetime === undefined || object.metadata.annotations?.[EXPIRES_AT_ANNOTATION] !== undefined) return;
    const expiresAt = new Date(now().getTime() + lifetime).toISOString();
    const metadata = {
      ...object.metadata,
      annotations: { ...object.metadata.annotations, [EXPIRES_AT_ANNOTATION]: expiresAt },
    };
    client.request("PUT", pathOf(object), { ...object, metadata }).catch((err: unknown) => {
      if (err instanceof KubeApiError && (err.status === 409 || err.status === 404)) return;
      onError("expire", err);
      logger.warn(`could not set the expiry of policy ${object.metadata.name}`, {
        error: (err as Error).message,
      });
    });
  }

  /** What the status of a policy resource should say: whether it compiles, for which generation, until when. */
  function desiredStatus(object: KubeObject): NonNullable<KubeObject["status"]> {
    const generation = object.metadata.generation ?? 1;
    const result = v.safeParse(PolicySchema, {
      apiVersion: object.apiVersion,
      kind: object.kind,
      metadata: { name: object.metadata.name },
      spec: object.spec,
    });
    const issue = result.success ? undefined : toFieldIssues(result.issues)[0];
    const accepted = {
      type: "Accepted",
      status: issue ? "False" : "True",
      reason: issue ? "Invalid" : "Compiled",
      message: issue ? `${issue.path}: ${issue.message}` : "the policy is part of the rule set",
      observedGeneration: generation,
    } as const;
    const ours = [
      { ...accepted },
      ...propagated(object, result.success ? result.output : undefined, generation),
    ];
    const conditions = (object.status?.conditions ?? []).filter((c) => !ours.some((o) => o.type === c.type));
    const withTimes = ours.map((condition) => {
      const previous = object.status?.conditions?.find((c) => c.type === condition.type);
      const lastTransitionTime =
        previous?.status === condition.status ? previous.lastTransitionTime : rfc3339Seconds(now());
      return { ...condition, lastTransitionTime };
    });
    const expiresAt =
      object.spec?.duration !== undefined ? object.metadata.annotations?.[EXPIRES_AT_ANNOTATION] : undefined;
    return {
      ...(expiresAt !== undefined && { expiresAt }),
      observedGeneration: generation,
      conditions: [...withTimes, ...conditions],
    };
  }

  /** The Propagated condition, when the server says how far policies have got. */
  function propagated(
    object: KubeObject,
    policy: Policy | undefined,
    generation: number,
  ): Omit<Condition, "lastTransitionTime">[] {
    const of = options.propagation?.of;
    const revision = definedAt.get(keyOf(object));
    if (!of || revision === undefined) return [];
    if (!policy) {
      return [
        {
          type: "Propagated",
          status: "False",
          reason: "NotAccepted",
          message: "the policy is not part of the rule set",
          observedGeneration: generation,
        },
      ];
    }
    const stored = {
      ...policy,
      spec: targetingOwnNamespace(policy.spec, namespaceOf(object)),
      metadata: { ...storedMeta(object, namespace).metadata },
    };
    const { applied, targeted } = of(stored, revision);
    return [
      {
        type: "Propagated",
        status: applied === targeted ? "True" : "False",
        reason: applied === targeted ? "Applied" : "Pending",
        message:
          targeted === 0 ? "no live proxy is targeted" : `${applied}/${targeted} targeted proxies have it`,
        observedGeneration: generation,
      },
    ];
  }

  function applyHalt(type: "put" | "delete", object: KubeObject, eventRevision: number): void {
    const before = haltObject;
    haltObject = type === "put" ? object : undefined;
    if (type === "put" && !before) emit({ type: "halt", halt: toHalt(object), revision: eventRevision });
    else if (type === "delete" && before)
      emit({ type: "resume", halt: toHalt(before), revision: eventRevision });
    else revision = Math.max(revision, eventRevision);
  }

  function apply(resource: Resource, type: "put" | "delete", object: KubeObject): void {
    const at = Number(object.metadata.resourceVersion);
    const { uid } = object.metadata;
    if (type === "delete" && uid) {
      const waiter = deleteWaiters.get(uid);
      deleteWaiters.delete(uid);
      if (waiter) waiter(at);
      else rememberDelete(uid, at);
    }
    if (resource === "policies") applyPolicy(type, object, at);
    else if (object.metadata.name === HALT_NAME) applyHalt(type, object, at);
  }

  function rememberDelete(uid: string, at: number): void {
    deletedAt.set(uid, at);
    // Deletes by others are never asked for: keep only the recent ones.
    if (deletedAt.size > 1000) deletedAt.delete(deletedAt.keys().next().value as string);
  }

  /** The revision of the delete of `uid` once the watch has seen it (0 after the deadline: the delete is done anyway). */
  function deleted(uid: string): Promise<number> {
    const seen = deletedAt.get(uid);
    if (seen !== undefined) {
      deletedAt.delete(uid);
      return Promise.resolve(seen);
    }
    return new Promise((resolve) => {
      deleteWaiters.set(uid, resolve);
      setTimeout(() => {
        if (deleteWaiters.delete(uid)) resolve(revision);
      }, requestTimeoutMs).unref?.();
    });
  }

  /** Lists `resource` and makes the cache what the list says, as changes; the list's resourceVersion. */
  async function relist(resource: Resource, initial: boolean): Promise<string> {
    const list = await client.request<KubeList>("GET", paths[resource]);
    const listed = new Map(list.items.map((item) => [keyOf(item), item]));
    const cached =
      resource === "policies"
        ? new Map(policies)
        : new Map(haltObject ? [[keyOf(haltObject), haltObject]] : []);
    for (const [key, object] of cached) {
      // A delete the watch missed: it happened at or before the list's revision.
      if (!listed.has(key)) apply(resource, "delete", withVersion(object, list.metadata.resourceVersion));
    }
    for (const [key, object] of listed) {
      if (cached.get(key)?.metadata.resourceVersion !== object.metadata.resourceVersion) {
        apply(resource, "put", object);
      }
    }
    if (initial) revision = Math.max(revision, Number(list.metadata.resourceVersion));
    advance(resource, list.metadata.resourceVersion);
    return list.metadata.resourceVersion;
  }

  /** Watches `resource` from `from` until the store closes: reconnects, and relists on 410 Gone. */
  async function inform(resource: Resource, from: string): Promise<void> {
    let resourceVersion = from;
    let backoffMs = 100;
    while (!stop.signal.aborted) {
      try {
        const query = `watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=${resourceVersion}`;
        for await (const event of client.watch<KubeWatchEvent>(`${paths[resource]}?${query}`, stop.signal)) {
          backoffMs = 100;
          if (event.type === "ERROR")
            throw new KubeApiError(event.object.code ?? 500, "", event.object.message ?? "");
          resourceVersion = event.object.metadata.resourceVersion;
          if (event.type !== "BOOKMARK")
            apply(resource, event.type === "DELETED" ? "delete" : "put", event.object);
          advance(resource, resourceVersion);
        }
      } catch (err) {
        if (stop.signal.aborted) return;
        if (err instanceof KubeApiError && err.status === 410) {
          logger.info(`the watch of ${resource} expired (410 Gone); listing again`);
          resourceVersion = await relist(resource, false).catch((relistErr: unknown) => {
            onError("watch", relistErr);
            return resourceVersion;
          });
          continue;
        }
        onError("watch", err);
        logger.warn(`the watch of ${resource} broke; reconnecting in ${backoffMs} ms`, {
          error: (err as Error).message,
        });
        await Bun.sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 2000);
      }
    }
  }

  async function readHalt(): Promise<Halt | undefined> {
    const object = await getOrUndefined(haltPath);
    return object && toHalt(object);
  }

  async function put(
    policy: Policy,
    onlyCreate: boolean,
  ): Promise<{ policy: StoredPolicy; created: boolean }> {
    const { name, resourceVersion } = policy.metadata;
    const policyNamespace = resolveNamespace(namespaces, policy.metadata.namespace, "metadata.namespace");
    const lifetime = durationMs(policy);
    const wanted = JSON.parse(JSON.stringify(policy.spec)) as Policy["spec"];
    for (let attempt = 1; ; attempt++) {
      const [current, halt] = await Promise.all([
        getOrUndefined(policyPath(policyNamespace, name)),
        readHalt(),
      ]);
      if (halt) throw lockedError(halt);
      if (onlyCreate && current) throw new HfiError("AlreadyExists", `policy "${name}" already exists`);
      const previous = current && toStored(current);
      const stale = staleVersionError(name, resourceVersion, current && storedMeta(current, namespace));
      if (stale) throw stale;
      const specChanged = !current || !isDeepStrictEqual(current.spec, wanted);
      if (previous && !specChanged && lifetime === undefined) return { policy: previous, created: false };
      const { [EXPIRES_AT_ANNOTATION]: _old, ...annotations } = current?.metadata.annotations ?? {};
      if (lifetime !== undefined) {
        annotations[EXPIRES_AT_ANNOTATION] = new Date(now().getTime() + lifetime).toISOString();
      }
      const body: KubeObject = {
        apiVersion: policy.apiVersion,
        kind: policy.kind,
        metadata: {
          name,
          namespace: policyNamespace,
          ...(current && { resourceVersion: current.metadata.resourceVersion }),
          ...(current?.metadata.labels && { labels: current.metadata.labels }),
          annotations,
        } as ObjectMeta,
        spec: wanted as Record<string, unknown>,
      };
      try {
        const written = current
          ? await client.request<KubeObject>("PUT", policyPath(policyNamespace, name), body)
          : await client.request<KubeObject>("POST", policiesIn(policyNamespace), body);
        await caughtUp("policies", written.metadata.resourceVersion);
        const stored = toStored(written);
        if (!stored)
          throw new HfiError("Internal", `the API server stored policy "${name}" in a form hfi cannot read`);
        return { policy: stored, created: !current };
      } catch (err) {
        const lostRace = err instanceof KubeApiError && err.status === 409;
        if (!lostRace || attempt === MAX_CAS_ATTEMPTS) throw err;
        if (onlyCreate && err.reason === "AlreadyExists") throw err;
      }
    }
  }

  function sortedItems(): StoredPolicy[] {
    const items: StoredPolicy[] = [];
    for (const object of policies.values()) {
      const stored = toStored(object);
      if (stored) items.push(structuredClone(stored));
    }
    return items.sort(byNamespaceAndName);
  }

  function state(): StoreState {
    return { items: sortedItems(), revision, halt: haltObject && toHalt(haltObject) };
  }

  const [policiesFrom, haltFrom] = await call("list", () =>
    Promise.all([relist("policies", true), relist("halt", true)]),
  );
  void inform("policies", policiesFrom);
  void inform("halt", haltFrom);

  return {
    namespaces,
    ...(election && {
      election: {
        leader: () => election.holder(),
        isLeader: () => election.isLeader(),
        onChange(listener) {
          electionListeners.add(listener);
          listener(election.isLeader());
          return () => electionListeners.delete(listener);
        },
      },
    }),

    create: (policy) =>
      write("create", async () => {
        if (policy.metadata.resourceVersion !== undefined) {
          throw new HfiError("InvalidInput", "resourceVersion must not be set when creating", [
            { path: "metadata.resourceVersion", message: "must not be set when creating" },
          ]);
        }
        return (await put(policy, true)).policy;
      }),

    createOrUpdate: (policy) => write("createOrUpdate", () => put(policy, false)),

    get: (name, inNs) =>
      call("get", async () => {
        const path = policyPath(resolveNamespace(namespaces, inNs), name);
        const object = await client.request<KubeObject>("GET", path);
        const stored = toStored(object);
        if (!stored)
          throw new HfiError("NotFound", `policy "${name}" is not a valid policy (see the server log)`);
        return stored;
      }),

    delete: (name, inNs) =>
      write("delete", async () => {
        const path = policyPath(resolveNamespace(namespaces, inNs), name);
        for (let attempt = 1; ; attempt++) {
          const object = await client.request<KubeObject>("GET", path);
          try {
            const preconditions = { resourceVersion: object.metadata.resourceVersion };
            await client.request("DELETE", path, { preconditions });
            await deleted(object.metadata.uid ?? "");
            return toStored(object) ?? storedMeta(object, namespace);
          } catch (err) {
            if (!(err instanceof KubeApiError && err.status === 409) || attempt === MAX_CAS_ATTEMPTS)
              throw err;
          }
        }
      }),

    list: async () => {
      const { items, revision: at } = state();
      return { items, revision: at };
    },

    state: async () => state(),

    getHalt: () => call("getHalt", readHalt),

    halt: (request) =>
      write("halt", async () => {
        const spec = {
          reason: (request.reason ?? "").trim().slice(0, MAX_HALT_TEXT),
          ...(request.by?.trim() && { by: request.by.trim().slice(0, MAX_HALT_TEXT) }),
        };
        const body = {
          apiVersion: `${API_GROUP}/${API_VERSION}`,
          kind: HALT_KIND,
          metadata: { name: HALT_NAME },
          spec,
        };
        try {
          const created = await client.request<KubeObject>("POST", paths.halt, body);
          await caughtUp("halt", created.metadata.resourceVersion);
          return { halt: toHalt(created), created: true };
        } catch (err) {
          if (!(err instanceof KubeApiError && err.reason === "AlreadyExists")) throw err;
          const existing = await client.request<KubeObject>("GET", haltPath);
          return { halt: toHalt(existing), created: false };
        }
      }),

    resume: () =>
      write("resume", async () => {
        const object = await getOrUndefined(haltPath);
        if (!object) return undefined;
        try {
          await client.request("DELETE", haltPath, { preconditions: { uid: object.metadata.uid } });
          return { lifted: toHalt(object), revision: await deleted(object.metadata.uid ?? "") };
        } catch (err) {
          if (err instanceof KubeApiError && err.status === 404) return undefined;
          throw err;
        }
      }),

    watch: (listener) => watchers.add(listener, revision),

    ping: () =>
      call("ping", async () => {
        await client.request("GET", `${paths.policies}?limit=1`);
      }),

    async close() {
      stop.abort();
      await election?.close();
      electionListeners.clear();
      watchers.clear();
      clearTimeout(holdTimer);
      clearInterval(propagationRefresh);
      for (const timer of expiryTimers.values()) clearTimeout(timer);
      expiryTimers.clear();
      for (const waiter of waiters) waiter.resolve();
      waiters.clear();
      for (const resolve of deleteWaiters.values()) resolve(revision);
      deleteWaiters.clear();
    },
  };
}

/** A policy's server-owned metadata, for a custom resource that is not a valid policy. */
function storedMeta(object: KubeObject, home: string): StoredPolicy {
  const { name, namespace = home, resourceVersion, generation = 1, creationTimestamp } = object.metadata;
  return {
    ...(object as unknown as Policy),
    metadata: { name, namespace, resourceVersion, generation, creationTimestamp },
  };
}

/** Whether two versions of a resource define the same policy (they may differ in status and labels). */
function sameDefinition(a: KubeObject, b: KubeObject): boolean {
  return (
    a.metadata.generation === b.metadata.generation &&
    a.metadata.annotations?.[EXPIRES_AT_ANNOTATION] === b.metadata.annotations?.[EXPIRES_AT_ANNOTATION] &&
    isDeepStrictEqual(a.spec, b.spec)
  );
}

/** Kubernetes timestamps: RFC 3339 in whole seconds. */
function rfc3339Seconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function withVersion(object: KubeObject, resourceVersion: string): KubeObject {
  return { ...object, metadata: { ...object.metadata, resourceVersion } };
}
