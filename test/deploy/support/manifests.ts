/**
 * Reading Kubernetes manifests and the structural checks the API server would not make for us: the
 * restricted Pod Security Standard on every pod, and references between objects (Services selecting
 * pods, volumes naming ConfigMaps and Secrets, probes naming ports).
 */
import { parseAllDocuments } from "yaml";

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

// biome-ignore lint/suspicious/noExplicitAny: manifests are walked as plain parsed YAML
type Any = any;

/** Every non-empty document of a multi-document YAML stream; throws on YAML errors. */
export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join("\n"));
    const value = doc.toJS();
    return value ? [value as K8sObject] : [];
  });
}

export const describe = (object: K8sObject) => `${object.kind}/${object.metadata?.name ?? "?"}`;

const WORKLOADS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]);

/** The pod template of a workload (or the spec of a Pod), with the labels its pods carry. */
export function podOf(object: K8sObject): { labels: Record<string, string>; spec: Any } | undefined {
  const o = object as Any;
  if (object.kind === "Pod") return { labels: o.metadata?.labels ?? {}, spec: o.spec };
  if (WORKLOADS.has(object.kind))
    return { labels: o.spec.template.metadata?.labels ?? {}, spec: o.spec.template.spec };
  return undefined;
}

const allContainers = (spec: Any): Any[] => [...(spec.initContainers ?? []), ...(spec.containers ?? [])];

/**
 * The restricted Pod Security Standard (what the hfi namespace enforces) plus the rules this project
 * adds: read-only root filesystem and resource requests and memory limits on every container.
 */
export function checkPodSecurity(object: K8sObject): string[] {
  const pod = podOf(object);
  if (!pod) return [];
  const { spec } = pod;
  const problems: string[] = [];
  const where = (c?: Any) => `${describe(object)}${c ? ` container ${c.name}` : ""}`;
  if (spec.securityContext?.seccompProfile?.type !== "RuntimeDefault") {
    problems.push(`${where()}: pod seccompProfile is not RuntimeDefault`);
  }
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) problems.push(`${where()}: uses host namespaces`);
  for (const volume of spec.volumes ?? []) {
    if (volume.hostPath) problems.push(`${where()}: hostPath volume ${volume.name}`);
  }
  for (const c of allContainers(spec)) {
    const sc = c.securityContext ?? {};
    const runAsNonRoot = sc.runAsNonRoot ?? spec.securityContext?.runAsNonRoot;
    const runAsUser = sc.runAsUser ?? spec.securityContext?.runAsUser;
    if (runAsNonRoot !== true) problems.push(`${where(c)}: runAsNonRoot is not true`);
    if (runAsUser === 0) problems.push(`${where(c)}: runs as uid 0`);
    if (sc.allowPrivilegeEscalation !== false)
      problems.push(`${where(c)}: allowPrivilegeEscalation is not false`);
    if (sc.privileged) problems.push(`${where(c)}: privileged`);
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${where(c)}: root filesystem is writable`);
    const drop: string[] = sc.capabilities?.drop ?? [];
    if (!drop.includes("ALL")) problems.push(`${where(c)}: capabilities do not drop ALL`);
    if ((sc.capabilities?.add ?? []).length > 0) problems.push(`${where(c)}: adds capabilities`);
    if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory)
      problems.push(`${where(c)}: no requests`);
    if (!c.resources?.limits?.memory) problems.push(`${where(c)}: no memory limit`);
  }
  return problems;
}

/** Every container image, with where it is used. */
export function imagesOf(object: K8sObject): { image: string; where: string }[] {
  const pod = podOf(object);
  if (!pod) return [];
  return allContainers(pod.spec).map((c) => ({
    image: c.image,
    where: `${describe(object)} container ${c.name}`,
  }));
}

const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

/**
 * References that must resolve within one set of objects. `external` names Secrets or ConfigMaps
 * expected to exist already (e.g. auth.existingSecret).
 */
export function checkReferences(objects: K8sObject[], external: string[] = []): string[] {
  const problems: string[] = [];
  const named = (kind: string, name: string) =>
    external.includes(name) || objects.some((o) => o.kind === kind && o.metadata?.name === name);
  const pods = objects.flatMap((o) => {
    const pod = podOf(o);
    return pod ? [{ object: o, ...pod }] : [];
  });

  for (const service of objects.filter((o) => o.kind === "Service")) {
    const selector = (service as Any).spec.selector ?? {};
    const targets = pods.filter((p) => p.object.kind !== "Pod" && selects(selector, p.labels));
    if (targets.length === 0) problems.push(`${describe(service)} selects no pods`);
    for (const port of (service as Any).spec.ports ?? []) {
      if (typeof port.targetPort !== "string") continue;
      const found = targets.some((p) =>
        allContainers(p.spec).some((c) => (c.ports ?? []).some((cp: Any) => cp.name === port.targetPort)),
      );
      if (!found)
        problems.push(`${describe(service)} targets port ${port.targetPort}, which no selected pod names`);
    }
  }

  for (const { object, spec, labels } of pods) {
    const o = object as Any;
    if (o.spec?.selector?.matchLabels && !selects(o.spec.selector.matchLabels, labels)) {
      problems.push(`${describe(object)}: selector does not match its pod template labels`);
    }
    if (object.kind === "StatefulSet" && !named("Service", o.spec.serviceName)) {
      problems.push(`${describe(object)}: serviceName ${o.spec.serviceName} is not a Service here`);
    }
    if (spec.serviceAccountName && !named("ServiceAccount", spec.serviceAccountName)) {
      problems.push(`${describe(object)}: ServiceAccount ${spec.serviceAccountName} is not defined`);
    }
    const claims = (o.spec?.volumeClaimTemplates ?? []).map((t: Any) => t.metadata.name);
    const volumes = new Set([...(spec.volumes ?? []).map((v: Any) => v.name), ...claims]);
    for (const v of spec.volumes ?? []) {
      if (v.configMap && !named("ConfigMap", v.configMap.name)) {
        problems.push(
          `${describe(object)}: volume ${v.name} names ConfigMap ${v.configMap.name}, not defined`,
        );
      }
      if (v.secret && !named("Secret", v.secret.secretName)) {
        problems.push(
          `${describe(object)}: volume ${v.name} names Secret ${v.secret.secretName}, not defined`,
        );
      }
    }
    for (const c of allContainers(spec)) {
      const ports = new Set((c.ports ?? []).map((p: Any) => p.name));
      for (const m of c.volumeMounts ?? []) {
        if (!volumes.has(m.name))
          problems.push(`${describe(object)} container ${c.name}: mounts unknown ${m.name}`);
      }
      for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
        const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
        if (typeof port === "string" && !ports.has(port)) {
          problems.push(`${describe(object)} container ${c.name}: probe port ${port} is not a named port`);
        }
      }
    }
  }

  for (const pdb of objects.filter((o) => o.kind === "PodDisruptionBudget")) {
    const selector = (pdb as Any).spec.selector.matchLabels;
    if (!pods.some((p) => selects(selector, p.labels))) problems.push(`${describe(pdb)} selects no pods`);
  }
  return problems;
}
