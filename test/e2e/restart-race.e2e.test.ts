/**
 * End to end: a memory-store `dist/hfi serve` restarts and takes a new policy before the filter in
 * the real Envoy (2 workers) gets through to it again. The new server serves revision 1 — the
 * revision the filter already has — with other rules; the filter must end up with them. A TCP relay
 * between Envoy and hfi holds the filter off while the server restarts and the policy is applied.
 * Requires `npm run build` and scripts/setup.sh (Envoy).
 */

import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ProxiesStatus } from "../../src/api-types.ts";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";
import { HFI_BIN } from "../support/paths.ts";
import { freePort } from "../support/ports.ts";
import { type Spawned, spawnLogged, terminate, waitForUrl } from "../support/process.ts";
import { expectSoon, send as sendThrough } from "../support/requests.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";

/** Generous: the filter backs off (jittered, doubling from 200 ms) while the relay is cut. */
const CONVERGE_LIMIT_MS = 20_000;

let logDir: string;
let hfiPort: number;
let hfi: Spawned | undefined;
let relay: TcpProxy;
let stack: LocalStack;
beforeAll(async () => {
  logDir = mkdtempSync(join(tmpdir(), "hfi-restart-race-"));
  hfiPort = await freePort();
  hfi = await startServe("hfi-1.log");
  relay = startTcpProxy({ hostname: "127.0.0.1", port: hfiPort });
  stack = await startLocalStack({ concurrency: 2, controlPlanePort: Number(new URL(relay.endpoint).port) });
}, 30_000);
afterAll(async () => {
  await stack?.stop();
  relay?.stop();
  if (hfi) await terminate(hfi.proc);
  rmSync(logDir, { recursive: true, force: true });
});

const send = (path: string) => sendThrough(stack.envoyUrl, path);

/** `dist/hfi serve` with a memory store on `hfiPort`, once it answers. */
async function startServe(logName: string): Promise<Spawned> {
  const spawned = spawnLogged([HFI_BIN, "serve", "--listen", `127.0.0.1:${hfiPort}`], join(logDir, logName));
  await waitForUrl(`http://127.0.0.1:${hfiPort}/healthz`, spawned);
  return spawned;
}

async function applyAbort(name: string, prefix: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${hfiPort}/v1/policies/${name}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      apiVersion: "hfi.dev/v1alpha1",
      kind: "FaultInjectionPolicy",
      metadata: { name },
      spec: { match: { path: { prefix } }, fault: { abort: { httpStatus: 503 } } },
    }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
}

test("after a memory-store restart, other rules at the same revision reach every worker and status tells the truth", async () => {
  expect(await applyAbort("p1", "/a")).toBe("1");
  await expectSoon(
    () => send("/a"),
    (s) => s.status === 503 && s.fault === "p1",
  );

  relay.cut();
  await terminate((hfi as Spawned).proc);
  hfi = await startServe("hfi-2.log");
  // The race's premise: the restarted server reuses revision 1, for other rules.
  expect(await applyAbort("p2", "/b")).toBe("1");
  relay.restore();

  const both = async () => ({ a: await send("/a"), b: await send("/b") });
  await expectSoon(
    both,
    ({ a, b }) => a.status === 200 && b.status === 503 && b.fault === "p2",
    20,
    CONVERGE_LIMIT_MS,
  );
  // Every worker's next poll says it has the served rules: same revision, same identity.
  const status = await expectSoon(
    async () =>
      (await (await fetch(`http://127.0.0.1:${hfiPort}/v1/status/proxies`)).json()) as ProxiesStatus,
    (s) => {
      const live = s.proxies.filter((p) => p.live);
      return live.length >= 2 && live.every((p) => p.revision === 1 && p.ruleSetId === s.id);
    },
    1,
  );
  expect(status.revision).toBe(1);
}, 60_000);
