import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { KubeApiError, kubeconfigConnection, toHfiError } from "./client.ts";

const dir = mkdtempSync(join(tmpdir(), "hfi-kubeconfig-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfig(config: object): string {
  const path = join(dir, `${crypto.randomUUID()}.yaml`);
  writeFileSync(path, stringify(config));
  return path;
}

const base = {
  clusters: [
    { name: "a", cluster: { server: "https://a.example:6443/", "certificate-authority-data": btoa("CA-A") } },
    { name: "b", cluster: { server: "https://b.example", "certificate-authority": "ca-b.pem" } },
  ],
  users: [
    { name: "token", user: { token: "t0k3n" } },
    { name: "cert", user: { "client-certificate-data": btoa("CERT"), "client-key-data": btoa("KEY") } },
  ],
  contexts: [
    { name: "ctx-a", context: { cluster: "a", user: "token", namespace: "faults" } },
    { name: "ctx-b", context: { cluster: "b", user: "cert" } },
  ],
  "current-context": "ctx-a",
};

test("the current context: server, CA data decoded, token, namespace", () => {
  expect(kubeconfigConnection(kubeconfig(base))).toEqual({
    server: "https://a.example:6443",
    token: "t0k3n",
    tokenFile: undefined,
    ca: "CA-A",
    cert: undefined,
    key: undefined,
    insecureSkipTlsVerify: false,
    namespace: "faults",
  });
});

test("another context: a CA file relative to the kubeconfig, a client certificate, namespace default", () => {
  writeFileSync(join(dir, "ca-b.pem"), "CA-B");
  const connection = kubeconfigConnection(kubeconfig(base), "ctx-b");
  expect(connection).toMatchObject({ server: "https://b.example", ca: "CA-B", cert: "CERT", key: "KEY" });
  expect(connection.namespace).toBe("default");
});

test("a context that does not exist is named", () => {
  expect(() => kubeconfigConnection(kubeconfig(base), "nope")).toThrow('no context "nope"');
});

test("a refusal at admission is InvalidInput naming each field", () => {
  const err = toHfiError(
    new KubeApiError(422, "Invalid", 'FaultInjectionPolicy.hfi.dev "x" is invalid', [
      { field: "spec.fault.abort.httpStatus", message: "Invalid value: 700: should be <= 599" },
    ]),
  );
  expect(err.code).toBe("InvalidInput");
  expect(err.details).toEqual([
    { path: "spec.fault.abort.httpStatus", message: "Invalid value: 700: should be <= 599" },
  ]);
  expect(toHfiError(new KubeApiError(409, "AlreadyExists", "exists")).code).toBe("AlreadyExists");
  expect(toHfiError(new KubeApiError(409, "Conflict", "changed")).code).toBe("Conflict");
  expect(toHfiError(new KubeApiError(503, "ServiceUnavailable", "down")).code).toBe("Unavailable");
});
