/**
 * A real kube-apiserver for tests (built by `scripts/setup.sh --test`): free loopback port, a private
 * etcd (./etcd.ts), a static admin token (system:masters) and RBAC, service-account keys made with
 * openssl, self-signed serving certificates in a temporary cert dir. `kubectl()` runs the machine's
 * kubectl (or the one setup built) against it; `stop()` removes everything again.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestEtcd, type TestEtcd } from "./etcd.ts";
import { ROOT } from "./paths.ts";
import { freePort } from "./ports.ts";
import { type Spawned, spawnLogged, tail, terminate } from "./process.ts";

export const KUBERNETES_VERSION = "1.37.2";
const KUBE_DIR = join(ROOT, ".tools/kubernetes", `v${KUBERNETES_VERSION}`);
export const KUBE_APISERVER_BIN = process.env.KUBE_APISERVER_BIN ?? join(KUBE_DIR, "kube-apiserver");
export const KUBECTL_BIN = process.env.KUBECTL_BIN ?? Bun.which("kubectl") ?? join(KUBE_DIR, "kubectl");

export interface TestKubeApiServer {
  /** `https://127.0.0.1:<port>`. */
  url: string;
  /** Bearer token of a system:masters user. */
  adminToken: string;
  /** The serving certificate's CA bundle (the self-signed certificate and its CA). */
  caFile: string;
  /** A kubeconfig for the admin user, namespace `default`. */
  kubeconfig: string;
  etcd: TestEtcd;
  /** Runs kubectl with the admin kubeconfig; never throws, the caller checks `exitCode`. */
  kubectl(args: string[], stdin?: string): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** A fetch against the API as admin. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** Applies hfi's CRDs (deploy/crds) and waits until the API server serves them. */
  installCrds(): Promise<void>;
  /** Creates a namespace with a fresh name and returns the name. */
  createNamespace(prefix?: string): Promise<string>;
  /** Stops the API server (etcd keeps running) and starts it again: an outage of the API. */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `etcd`: run on this etcd (another API server's, as in an HA control plane) instead of a private
 * one, which `stop()` then leaves running.
 */
export async function startTestKubeApiServer(options: { etcd?: TestEtcd } = {}): Promise<TestKubeApiServer> {
  const dir = mkdtempSync(join(tmpdir(), "hfi-kube-"));
  const etcd = options.etcd ?? (await startTestEtcd());
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const adminToken = crypto.randomUUID();
  const tokens = join(dir, "tokens.csv");
  writeFileSync(tokens, `${adminToken},hfi-test-admin,hfi-test-admin,"system:masters"\n`);
  const saKey = join(dir, "sa.key");
  const saPub = join(dir, "sa.pub");
  openssl(["genrsa", "-out", saKey, "2048"]);
  openssl(["rsa", "-in", saKey, "-pubout", "-out", saPub]);
  const certDir = join(dir, "certs");
  const caFile = join(certDir, "apiserver.crt");
  const args = [
    KUBE_APISERVER_BIN,
    `--etcd-servers=${etcd.endpoint}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${port}`,
    `--cert-dir=${certDir}`,
    `--token-auth-file=${tokens}`,
    "--authorization-mode=RBAC",
    `--service-account-key-file=${saPub}`,
    `--service-account-signing-key-file=${saKey}`,
    "--service-account-issuer=https://kubernetes.default.svc",
    "--service-cluster-ip-range=10.96.0.0/24",
    // Nothing runs pods here: no endpoints for the kubernetes Service (127.0.0.1 is refused there anyway).
    "--endpoint-reconciler-type=none",
    "--profiling=false",
  ];
  let spawned: Spawned | undefined;

  async function start(): Promise<void> {
    if (spawned && spawned.proc.exitCode === null && spawned.proc.signalCode === null) return;
    spawned = spawnLogged(args, join(dir, `kube-apiserver-${Date.now()}.log`));
    await waitReady(spawned);
  }

  async function request(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${adminToken}`, ...(init.headers as Record<string, string>) },
      tls: { ca: Bun.file(caFile) },
    } as RequestInit);
  }

  async function waitReady(running: Spawned): Promise<void> {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && running.proc.exitCode === null) {
      const ok = await fetch(`${url}/readyz`, {
        headers: { authorization: `Bearer ${adminToken}` },
        tls: { rejectUnauthorized: false },
      } as RequestInit)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) return;
      await Bun.sleep(200);
    }
    throw new Error(
      `kube-apiserver at ${url} did not become ready (exit code ${running.proc.exitCode}); log tail:\n${tail(running.logFile)}`,
    );
  }

  await start();
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(kubeconfig, kubeconfigFor({ server: url, caFile, token: adminToken }));

  async function kubectl(kubectlArgs: string[], stdin?: string) {
    const proc = Bun.spawn([KUBECTL_BIN, `--kubeconfig=${kubeconfig}`, ...kubectlArgs], {
      stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, exitCode] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { exitCode, stdout, stderr };
  }

  async function mustKubectl(kubectlArgs: string[]): Promise<string> {
    const result = await kubectl(kubectlArgs);
    if (result.exitCode !== 0) throw new Error(`kubectl ${kubectlArgs.join(" ")}: ${result.stderr}`);
    return result.stdout;
  }

  return {
    url,
    adminToken,
    caFile,
    kubeconfig,
    etcd,
    kubectl,
    request,
    async installCrds() {
      await mustKubectl(["apply", "-f", join(ROOT, "deploy/crds/hfi.dev.yaml")]);
      await mustKubectl([
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/faultinjectionpolicies.hfi.dev",
        "crd/faultinjectionhalts.hfi.dev",
      ]);
    },
    async createNamespace(prefix = "t") {
      const name = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
      await mustKubectl(["create", "namespace", name]);
      return name;
    },
    async kill() {
      if (spawned) await terminate(spawned.proc);
    },
    start,
    async stop() {
      if (spawned) await terminate(spawned.proc);
      if (!options.etcd) await etcd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A kubeconfig with one cluster, one user (a bearer token) and one context. */
export function kubeconfigFor(options: {
  server: string;
  caFile: string;
  token: string;
  namespace?: string;
}): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: "test", cluster: { server: options.server, "certificate-authority": options.caFile } },
    ],
    users: [{ name: "test", user: { token: options.token } }],
    contexts: [
      { name: "test", context: { cluster: "test", user: "test", namespace: options.namespace ?? "default" } },
    ],
    "current-context": "test",
  });
}

function openssl(args: string[]): void {
  const result = Bun.spawnSync(["openssl", ...args], { stdout: "ignore", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr.toString()}`);
}
