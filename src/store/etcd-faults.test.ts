/**
 * The etcd store under faults of one request, with a real etcd: an answer that comes too late, a
 * value etcd refuses, many writers on one name. One request's trouble stays its own.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createConsola } from "consola";
import { startTestEtcd, type TestEtcd } from "../../test/support/etcd.ts";
import { startTcpProxy } from "../../test/support/tcp-proxy.ts";
import type { Policy } from "../policy/index.ts";
import { expectCode } from "./contract-suite.ts";
import { createEtcdStore, type EtcdStoreOptions } from "./etcd.ts";

const quiet = createConsola({ level: -999 });
let etcd: TestEtcd;

beforeAll(async () => {
  etcd = await startTestEtcd();
});

afterAll(async () => {
  await etcd.stop();
});

function policy(name: string, body = ""): Policy {
  return {
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: { name },
    spec: { priority: 0, fault: { percentage: 100, abort: { httpStatus: 503, body } } },
  };
}

function openStore(options: Partial<EtcdStoreOptions> = {}) {
  return createEtcdStore({
    endpoints: [etcd.endpoint],
    prefix: `f-${crypto.randomUUID().slice(0, 8)}/`,
    logger: quiet,
    ...options,
  });
}

test("a value etcd refuses is that write's 413; the store keeps answering everyone else", async () => {
  const store = await openStore();
  try {
    // Past etcd's gRPC message limit (1.5 MiB request + 512 KiB): RESOURCE_EXHAUSTED.
    const huge = policy("huge", "x".repeat(3 << 20));
    for (let i = 0; i < 5; i++) await expectCode(store.createOrUpdate(huge), "PayloadTooLarge");
    await store.ping();
    expect((await store.createOrUpdate(policy("small"))).created).toBe(true);
    expect((await store.list()).items.map((p) => p.metadata.name)).toEqual(["small"]);
  } finally {
    await store.close();
  }
}, 20_000);

test("40 concurrent unconditional writes to one name all succeed; the last one written is stored", async () => {
  const store = await openStore();
  try {
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => store.createOrUpdate(policy("contended", `writer ${i}`))),
    );
    const refused = results.filter((r) => r.status === "rejected");
    expect(refused).toEqual([]);
    const written = results.flatMap((r) => (r.status === "fulfilled" ? [r.value.policy] : []));
    expect(written.filter((p) => p.metadata.generation === 1)).toHaveLength(1);
    const last = written.reduce((a, b) =>
      Number(a.metadata.resourceVersion) > Number(b.metadata.resourceVersion) ? a : b,
    );
    expect(await store.get("contended")).toEqual(last);
  } finally {
    await store.close();
  }
}, 20_000);

test("a delete whose answer comes too late is not sent again: 503 saying it may have happened, never a false 404", async () => {
  const proxy = startTcpProxy({ hostname: "127.0.0.1", port: Number(new URL(etcd.endpoint).port) });
  const store = await openStore({ endpoints: [proxy.endpoint], requestTimeoutMs: 1000 });
  try {
    await store.create(policy("a"));
    proxy.holdReplies();
    const outcome = store.delete("a").then(
      () => "deleted",
      (err: { code?: string; message?: string }) => `${err.code}: ${err.message}`,
    );
    // Past the deadline, while a resent delete would still be waiting for its answer.
    await Bun.sleep(1500);
    proxy.releaseReplies();
    expect(await outcome).toMatch(/^Unavailable: .*may have been deleted/);
    await expectCode(store.get("a"), "NotFound");
  } finally {
    await store.close();
    proxy.stop();
  }
}, 20_000);

test("writes queued behind one whose answer is late give up within one deadline of their own", async () => {
  const proxy = startTcpProxy({ hostname: "127.0.0.1", port: Number(new URL(etcd.endpoint).port) });
  const store = await openStore({ endpoints: [proxy.endpoint], requestTimeoutMs: 1000 });
  try {
    proxy.holdReplies();
    const outcomes = await Promise.all(
      ["first", "second", "third"].map((body) =>
        store.createOrUpdate(policy("queued", body)).then(
          () => "written",
          (err: { code?: string; message?: string }) => `${err.code}: ${err.message}`,
        ),
      ),
    );
    expect(outcomes).toEqual([
      "Unavailable: etcd did not answer in time; the policy may have been written: get it to see",
      "Unavailable: etcd is slow to answer earlier writes to this policy; try again",
      "Unavailable: etcd is slow to answer earlier writes to this policy; try again",
    ]);
  } finally {
    proxy.releaseReplies();
    await store.close();
    proxy.stop();
  }
}, 20_000);
