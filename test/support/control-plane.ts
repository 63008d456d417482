/**
 * The real control plane inside the test process: the Hono app over a fresh memory store (driven
 * through `app.request()`), or a listening server on a free loopback port.
 */
import { createConsola, type LogObject } from "consola";
import {
  createDistributor,
  createSubscriberRegistry,
  type Distributor,
  type SubscriberRegistryOptions,
} from "../../src/distributor/index.ts";
import type { FieldIssue } from "../../src/policy/index.ts";
import { createApp } from "../../src/server/app.ts";
import type { AuthTokens } from "../../src/server/auth.ts";
import { createLogger, type RunningServer, type ServerOptions, startServer } from "../../src/server/index.ts";
import { createMemoryStore, type PolicyStore } from "../../src/store/index.ts";

/** An app over a fresh memory store, with its log entries captured. */
export async function createTestApp(
  options: {
    store?: PolicyStore;
    heartbeatMs?: number;
    subscribers?: SubscriberRegistryOptions;
    auth?: AuthTokens;
  } = {},
) {
  const logs: LogObject[] = [];
  const logger = createConsola({ level: 4, reporters: [{ log: (entry) => logs.push(entry) }] });
  const store = options.store ?? createMemoryStore();
  const distributor = await createDistributor(store, { logger, coalesceMs: 0 });
  const subscribers = createSubscriberRegistry(options.subscribers);
  const app = createApp({
    store,
    distributor,
    logger,
    heartbeatMs: options.heartbeatMs,
    subscribers,
    auth: options.auth,
  });
  return { app, store, distributor, subscribers, logs };
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

/** A control plane with a fresh memory store on 127.0.0.1 and a free port; logs silenced. */
export function startControlPlane(options: ServerOptions = {}): Promise<RunningServer> {
  return startServer({ listen: "127.0.0.1:0", logger: createLogger({ level: -1 }), ...options });
}
