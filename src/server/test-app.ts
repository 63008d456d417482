import { createConsola, type LogObject } from "consola";
import {
  createDistributor,
  createSubscriberRegistry,
  type Distributor,
  type SubscriberRegistryOptions,
} from "../distributor/index.ts";
import type { FieldIssue } from "../policy/index.ts";
import { createMemoryStore, type PolicyStore } from "../store/index.ts";
import { createApp } from "./app.ts";

/** For tests: an app over a fresh memory store, with its log entries captured. */
export async function createTestApp(
  options: { store?: PolicyStore; heartbeatMs?: number; subscribers?: SubscriberRegistryOptions } = {},
) {
  const logs: LogObject[] = [];
  const logger = createConsola({ level: 4, reporters: [{ log: (entry) => logs.push(entry) }] });
  const store = options.store ?? createMemoryStore();
  const distributor = await createDistributor(store, { logger, coalesceMs: 0 });
  const subscribers = createSubscriberRegistry(options.subscribers);
  const app = createApp({ store, distributor, logger, heartbeatMs: options.heartbeatMs, subscribers });
  return { app, store, distributor, subscribers, logs };
}

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

/** A valid policy as a JSON-ready object. */
export function policyJson(name: string, httpStatus = 503) {
  return {
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: { name },
    spec: { match: { path: { prefix: "/" } }, fault: { abort: { httpStatus } } },
  };
}

/** The body of an error response. */
export async function errorOf(
  res: Response,
): Promise<{ code: string; message: string; details: FieldIssue[] }> {
  return ((await res.json()) as { error: { code: string; message: string; details: FieldIssue[] } }).error;
}

/** A response body, typed by the caller. */
export async function jsonOf<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** Resolves once the distributor serves `revision` or a later one (it compiles asynchronously). */
export async function servedAt(distributor: Distributor, revision: number, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (distributor.current().revision < revision) {
    if (Date.now() > deadline) throw new Error(`revision ${revision} not served within ${timeoutMs} ms`);
    await Bun.sleep(2);
  }
}
