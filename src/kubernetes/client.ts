import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { HfiError } from "../errors.ts";
import type { FieldIssue } from "../policy/index.ts";

/**
 * A small Kubernetes API client over fetch: JSON requests and watch streams, with the credentials
 * of a pod's service account or of a kubeconfig (bearer token or client certificate). It is all the
 * store needs; @kubernetes/client-node would add ~16 dependencies for the same few calls.
 */

/** Where the API server is and how to authenticate to it. */
export interface KubeConnection {
  server: string;
  /** A bearer token, or a file to read it from on every request (projected tokens rotate). */
  token?: string;
  tokenFile?: string;
  /** PEM. */
  ca?: string;
  cert?: string;
  key?: string;
  insecureSkipTlsVerify?: boolean;
  /** The namespace the credentials come with: the pod's, or the kubeconfig context's. */
  namespace: string;
}

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The pod's own service account, as every in-cluster client reads it. */
export function inClusterConnection(): KubeConnection {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? "443";
  if (!host) {
    throw new HfiError(
      "InvalidInput",
      "not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST is unset): give --kubeconfig",
    );
  }
  return {
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    tokenFile: `${SERVICE_ACCOUNT_DIR}/token`,
    ca: readFileSync(`${SERVICE_ACCOUNT_DIR}/ca.crt`, "utf8"),
    namespace: readFileSync(`${SERVICE_ACCOUNT_DIR}/namespace`, "utf8").trim(),
  };
}

interface Kubeconfig {
  "current-context"?: string;
  contexts?: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
  clusters?: { name: string; cluster: Record<string, string | boolean | undefined> }[];
  users?: { name: string; user: Record<string, string | undefined> }[];
}

/** The current context (or `context`) of a kubeconfig file. Paths in it are relative to the file. */
export function kubeconfigConnection(path: string, context?: string): KubeConnection {
  const config = parse(readFileSync(path, "utf8")) as Kubeconfig;
  const contextName = context ?? config["current-context"];
  const ctx = config.contexts?.find((c) => c.name === contextName)?.context;
  if (!ctx) throw new HfiError("InvalidInput", `kubeconfig ${path}: no context "${contextName}"`);
  const cluster = config.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  const user = config.users?.find((u) => u.name === ctx.user)?.user ?? {};
  if (!cluster || typeof cluster.server !== "string") {
    throw new HfiError("InvalidInput", `kubeconfig ${path}: no server for cluster "${ctx.cluster}"`);
  }
  const dir = path.slice(0, path.lastIndexOf("/") + 1);
  const pem = (data: unknown, file: unknown): string | undefined => {
    if (typeof data === "string") return Buffer.from(data, "base64").toString("utf8");
    if (typeof file === "string") return readFileSync(file.startsWith("/") ? file : dir + file, "utf8");
    return undefined;
  };
  return {
    server: cluster.server.replace(/\/$/, ""),
    token: user.token,
    tokenFile: user.tokenFile,
    ca: pem(cluster["certificate-authority-data"], cluster["certificate-authority"]),
    cert: pem(user["client-certificate-data"], user["client-certificate"]),
    key: pem(user["client-key-data"], user["client-key"]),
    insecureSkipTlsVerify: cluster["insecure-skip-tls-verify"] === true,
    namespace: ctx.namespace ?? "default",
  };
}

/** A Kubernetes `Status` failure, as the API server answers it. */
export class KubeApiError extends Error {
  override readonly name = "KubeApiError";
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly causes: { field?: string; message?: string }[] = [],
  ) {
    super(message);
  }
}

export interface KubeClient {
  readonly connection: KubeConnection;
  /** One JSON request; a non-2xx answer throws KubeApiError, no answer in time or at all throws HfiError Unavailable. */
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** The decoded lines of a watch; ends when the server ends it or `signal` aborts. */
  watch<T>(path: string, signal: AbortSignal): AsyncIterable<T>;
}

export function createKubeClient(connection: KubeConnection, requestTimeoutMs = 5000): KubeClient {
  const tls = {
    ...(connection.ca && { ca: connection.ca }),
    ...(connection.cert && { cert: connection.cert }),
    ...(connection.key && { key: connection.key }),
    ...(connection.insecureSkipTlsVerify && { rejectUnauthorized: false }),
  };

  function headers(): Record<string, string> {
    const token = connection.tokenFile ? readFileSync(connection.tokenFile, "utf8").trim() : connection.token;
    return {
      accept: "application/json",
      "content-type": "application/json",
      ...(token && { authorization: `Bearer ${token}` }),
    };
  }

  /** One request; `attempt` aborts it. Failures to connect are Unavailable, answers other than 2xx KubeApiError. */
  async function send(
    method: string,
    path: string,
    body: unknown,
    attempt: AbortController,
  ): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${connection.server}${path}`, {
        method,
        headers: headers(),
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: attempt.signal,
        tls,
      } as RequestInit);
    } catch (err) {
      const why = attempt.signal.aborted
        ? "did not answer in time"
        : `unreachable: ${(err as Error).message}`;
      throw new HfiError("Unavailable", `the Kubernetes API server at ${connection.server} ${why}`);
    }
    if (!res.ok) throw await apiError(res);
    return res;
  }

  /** `send` with a deadline for the answer's headers; the body may take longer (a watch stream). */
  async function sendInTime(method: string, path: string, body: unknown, attempt: AbortController) {
    const deadline = setTimeout(() => attempt.abort(), requestTimeoutMs);
    try {
      return await send(method, path, body, attempt);
    } finally {
      clearTimeout(deadline);
    }
  }

  return {
    connection,
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      // The deadline covers the body too.
      const attempt = new AbortController();
      const deadline = setTimeout(() => attempt.abort(), requestTimeoutMs);
      try {
        const res = await send(method, path, body, attempt);
        return (await res.json()) as T;
      } catch (err) {
        if (err instanceof HfiError || err instanceof KubeApiError) throw err;
        throw new HfiError(
          "Unavailable",
          `the Kubernetes API server did not answer ${method} ${path} in time`,
        );
      } finally {
        clearTimeout(deadline);
      }
    },
    async *watch<T>(path: string, signal: AbortSignal): AsyncIterable<T> {
      const attempt = new AbortController();
      const stop = () => attempt.abort();
      signal.addEventListener("abort", stop);
      try {
        yield* lines<T>(await sendInTime("GET", path, undefined, attempt));
      } finally {
        signal.removeEventListener("abort", stop);
      }
    },
  };
}

/** The JSON values of a newline-delimited body, as they arrive. */
async function* lines<T>(res: Response): AsyncIterable<T> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) yield JSON.parse(line) as T;
        newline = buffered.indexOf("\n");
      }
    }
  } finally {
    reader.releaseLock();
    await res.body?.cancel().catch(() => {});
  }
}

async function apiError(res: Response): Promise<KubeApiError> {
  const text = await res.text().catch(() => "");
  try {
    const status = JSON.parse(text) as {
      reason?: string;
      message?: string;
      details?: { causes?: { field?: string; message?: string }[] };
    };
    return new KubeApiError(
      res.status,
      status.reason ?? "",
      status.message ?? `HTTP ${res.status}`,
      status.details?.causes,
    );
  } catch {
    return new KubeApiError(res.status, "", text.slice(0, 200) || `HTTP ${res.status}`);
  }
}

/**
 * The HfiError a failed API call means for the store's caller. A refusal at admission (422) names
 * each field the API server names.
 */
export function toHfiError(err: unknown): HfiError {
  if (err instanceof HfiError) return err;
  if (!(err instanceof KubeApiError)) return new HfiError("Internal", String(err));
  switch (err.status) {
    case 404:
      return new HfiError("NotFound", err.message);
    case 409:
      return new HfiError(err.reason === "AlreadyExists" ? "AlreadyExists" : "Conflict", err.message);
    case 413:
      return new HfiError("PayloadTooLarge", err.message);
    case 400:
    case 422: {
      const details: FieldIssue[] = err.causes.map((c) => ({
        path: c.field ?? "",
        message: c.message ?? "",
      }));
      return new HfiError("InvalidInput", err.message, details);
    }
    case 401:
    case 403:
      return new HfiError("Internal", `the Kubernetes API server refused hfi's credentials: ${err.message}`);
    default:
      return new HfiError("Unavailable", `the Kubernetes API server answered ${err.status}: ${err.message}`);
  }
}
