/** FaultInjectionPolicy documents for tests and benchmarks, so each states only what it is about. */

export type PolicySpec = Record<string, unknown>;

/** A policy as the API takes it (JSON-ready); without `spec`, a 503 abort of every request. */
export function policy(name: string, spec: PolicySpec = { fault: { abort: { httpStatus: 503 } } }) {
  return { apiVersion: "hfi.dev/v1alpha1", kind: "FaultInjectionPolicy", metadata: { name }, spec };
}

/** An abort of every path with `httpStatus`, as a JSON-ready object. */
export function policyJson(name: string, httpStatus = 503) {
  return policy(name, { match: { path: { prefix: "/" } }, fault: { abort: { httpStatus } } });
}

/** A policy document as YAML; `spec` is the inside of a flow mapping. */
export function policyYaml(name: string, spec = "fault: { abort: { httpStatus: 503 } }"): string {
  return `apiVersion: hfi.dev/v1alpha1\nkind: FaultInjectionPolicy\nmetadata:\n  name: ${name}\nspec: { ${spec} }\n`;
}

/** The README's example policy, as a user writes it. */
export const POLICY_YAML = `apiVersion: hfi.dev/v1alpha1
kind: FaultInjectionPolicy
metadata: { name: checkout-abort }
spec:
  priority: 10
  match:
    path: { prefix: /api/checkout }
    method: { exact: POST }
  fault:
    abort: { httpStatus: 503, body: fault injected }
`;

/** `PUT /v1/policies/NAME` with `policy(name, spec)` on the control plane at `url`. */
export function putPolicy(
  url: string,
  name: string,
  spec?: PolicySpec,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${url}/v1/policies/${name}`, {
    method: "PUT",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(policy(name, spec)),
  });
}
