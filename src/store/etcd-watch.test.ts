/**
 * The etcd store's watch across real outages: etcd killed and restarted on the same data dir and
 * ports, and a client cut off (through a relay) while others write and compact.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createConsola, type LogObject } from "consola";
import { Etcd3 } from "etcd3";
import { startTestEtcd, type TestEtcd } from "../../test/support/etcd.ts";
import { startTcpProxy } from "../../test/support/tcp-proxy.ts";
import type { Policy } from "../policy/index.ts";
import { createEtcdStore } from "./etcd.ts";
import type { PolicyStore, WatchEvent } from "./types.ts";

let etcd: TestEtcd;

beforeAll(async () => {
  etcd = await startTestEtcd();
});

afterAll(async () => {
  await etcd.stop();
});

function policy(name: string, httpStatus = 503): Policy {
  return {
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: { name },
    spec: { priority: 0, fault: { percentage: 100, abort: { httpStatus, body: "" } } },
  };
}

/** A store whose events and log lines are recorded. */
async function watchedStore(endpoint: string, prefix: string) {
  const logs: LogObject[] = [];
  const logger = createConsola({ level: 4, reporters: [{ log: (entry) => logs.push(entry) }] });
  const store = await createEtcdStore({ endpoints: [endpoint], prefix, logger });
  const events: WatchEvent[] = [];
  store.watch((e) => {
    events.push(e);
  });
  const logged = (message: string) => logs.find((entry) => entry.args[0] === message);
  return { store, events, logged };
}

const summary = (events: WatchEvent[]) =>
  events.map((e) =>
    "policy" in e
      ? [e.type, e.policy.metadata.name, e.policy.spec.fault.abort?.httpStatus, e.revision]
      : [e.type, e.halt.reason, e.revision],
  );

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await Bun.sleep(20);
  }
}

test(
  "after etcd restarts, the watch resumes from its last revision: nothing lost, nothing twice",
  async () => {
    // The relay holds the store off the restarted etcd until others have written to it.
    const proxy = startTcpProxy({ hostname: "127.0.0.1", port: Number(new URL(etcd.endpoint).port) });
    const { store, events, logged } = await watchedStore(proxy.endpoint, "resume/");
    let writer: PolicyStore | undefined;
    try {
      const a = await store.create(policy("a", 500));
      await until(() => events.length === 1, 2000);

      await etcd.kill();
      await until(() => logged("etcd watch disconnected; resuming") !== undefined, 5000);
      // One line that says why, not a stack trace.
      expect(logged("etcd watch disconnected; resuming")?.args).toEqual([
        "etcd watch disconnected; resuming",
        { revision: expect.any(Number), error: expect.stringMatching(/^[^\n]+$/) },
      ]);
      proxy.cut();
      await etcd.start();
      writer = await createEtcdStore({ endpoints: [etcd.endpoint], prefix: "resume/" });
      const b = await writer.create(policy("b", 501));
      const { policy: a2 } = await writer.createOrUpdate(policy("a", 502));
      await writer.delete("b");
      const { revision: deleted } = await writer.list();
      proxy.restore();

      await until(() => logged("etcd watch resumed") !== undefined, 15_000);
      await until(() => events.length === 4, 2000);
      await Bun.sleep(100);
      expect(summary(events)).toEqual([
        ["put", "a", 500, Number(a.metadata.resourceVersion)],
        ["put", "b", 501, Number(b.metadata.resourceVersion)],
        ["put", "a", 502, Number(a2.metadata.resourceVersion)],
        ["delete", "b", 501, deleted],
      ]);
      expect(logged("etcd watch resynced")).toBeUndefined();
    } finally {
      await writer?.close();
      await store.close();
      proxy.stop();
    }
  },
  { timeout: 30_000 },
);

test(
  "when the revision to resume from was compacted, the store resyncs and reports the difference",
  async () => {
    const proxy = startTcpProxy({ hostname: "127.0.0.1", port: Number(new URL(etcd.endpoint).port) });
    const writer = await createEtcdStore({ endpoints: [etcd.endpoint], prefix: "compact/" });
    const { store, events, logged } = await watchedStore(proxy.endpoint, "compact/");
    try {
      await writer.create(policy("a", 500));
      await writer.create(policy("b", 501));
      await until(() => events.length === 2, 2000);

      proxy.cut();
      await until(() => logged("etcd watch disconnected; resuming") !== undefined, 5000);
      const { policy: a2 } = await writer.createOrUpdate(policy("a", 502));
      await writer.delete("b");
      const c = await writer.create(policy("c", 503));
      const { halt } = await writer.halt({ reason: "missed" });
      const { revision } = await writer.list();
      await compact(etcd.endpoint, revision);
      proxy.restore();

      await until(() => logged("etcd watch resynced") !== undefined, 15_000);
      await until(() => events.length === 6, 2000);
      expect(summary(events.slice(2))).toEqual([
        ["put", "a", 502, Number(a2.metadata.resourceVersion)],
        ["put", "c", 503, Number(c.metadata.resourceVersion)],
        ["halt", "missed", halt.revision],
        ["delete", "b", 501, revision],
      ]);

      // And the watch goes on from the resync.
      await writer.resume();
      const d = await writer.create(policy("d", 504));
      await until(() => events.length === 8, 5000);
      expect(summary(events.slice(6))).toEqual([
        ["resume", "missed", Number(d.metadata.resourceVersion) - 1],
        ["put", "d", 504, Number(d.metadata.resourceVersion)],
      ]);
      expect((await store.list()).items.map((p) => p.metadata.name)).toEqual(["a", "c", "d"]);
    } finally {
      await store.close();
      await writer.close();
      proxy.stop();
    }
  },
  { timeout: 30_000 },
);

async function compact(endpoint: string, revision: number): Promise<void> {
  const client = new Etcd3({ hosts: endpoint });
  try {
    await client.kv.compact({ revision, physical: true });
  } finally {
    client.close();
  }
}
