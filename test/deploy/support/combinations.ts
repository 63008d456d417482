/** Helm values combinations that change what the chart renders (shared by the helm and Envoy tests). */

/** `external` names Secrets that exist before the install. */
export const COMBINATIONS: Record<string, { values: object; external?: string[] }> = {
  default: { values: {} },
  "etcd (demo)": { values: { store: { type: "etcd" }, etcdDemo: { enabled: true } } },
  "etcd (demo, no persistence)": {
    values: { store: { type: "etcd" }, etcdDemo: { enabled: true, persistence: { enabled: false } } },
  },
  "etcd (external cluster)": {
    values: {
      store: { type: "etcd", etcd: { endpoints: ["http://etcd-0.etcd:2379", "http://etcd-1.etcd:2379"] } },
    },
  },
  kubernetes: { values: { store: { type: "kubernetes" } } },
  "kubernetes (all namespaces)": {
    values: { store: { type: "kubernetes", kubernetes: { allNamespaces: true } } },
  },
  "auth (inline tokens)": {
    values: { auth: { enabled: true, writerToken: "w-secret", readerToken: "r-secret" } },
  },
  "auth (existing secret)": {
    values: {
      auth: { enabled: true, existingSecret: "hfi-tokens" },
      sampleApp: { envoy: { filterToken: "r-from-the-secret" } },
    },
    external: ["hfi-tokens"],
  },
  "sample app off": { values: { sampleApp: { enabled: false } } },
  "production-like": {
    values: {
      image: { repository: "registry.example.com/hfi", tag: "0.1.0" },
      filterImage: { repository: "registry.example.com/hfi-filter", tag: "0.1.0" },
      imagePullSecrets: [{ name: "registry" }],
      store: { type: "etcd", etcd: { endpoints: ["https://etcd.example.com:2379"], prefix: "prod/hfi/" } },
      controlPlane: { replicas: 3, logLevel: "debug", podAnnotations: { "prometheus.io/scrape": "true" } },
      auth: { enabled: true, existingSecret: "hfi-tokens" },
      sampleApp: { enabled: false },
    },
    external: ["hfi-tokens"],
  },
};
