/**
 * Targeting end to end: the real `dist/hfi serve` and three real Envoys 1.40 with the release filter,
 * each telling the control plane who it is another way — `reviews` through the plugin configuration,
 * `ratings` through node metadata as Istio writes it (WORKLOAD_NAME, NAMESPACE, LABELS), and one that
 * says nothing. A policy with a selector faults only its service's Envoy, `--wait` counts only the
 * proxies it targets, a change for one service leaves the other's long-polls asleep (Envoy's own
 * request counter on the control-plane cluster says so), and a host condition faults only requests
 * to that host. Requires `npm run build` and scripts/setup.sh.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { ProxiesStatus } from "../../src/api-types.ts";
import { hfi } from "../support/cli.ts";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";
import { HFI_BIN } from "../support/paths.ts";
import { policyYaml } from "../support/policies.ts";
import { expectSoon, send } from "../support/requests.ts";

let reviews: LocalStack;
let ratings: LocalStack;
let anonymous: LocalStack;
let env: Record<string, string>;

beforeAll(async () => {
  reviews = await startLocalStack({
    concurrency: 1,
    nodeId: "reviews-v1",
    pluginConfig: { service: "reviews", namespace: "shop", labels: { app: "reviews", version: "v1" } },
  });
  const controlPlanePort = Number(new URL(reviews.controlPlaneUrl).port);
  [ratings, anonymous] = await Promise.all([
    startLocalStack({
      concurrency: 1,
      controlPlanePort,
      nodeId: "sidecar~10.0.0.9~ratings-v1-7c9f.shop~shop.svc.cluster.local",
      nodeMetadata: {
        WORKLOAD_NAME: "ratings",
        NAMESPACE: "shop",
        LABELS: { app: "ratings", version: "v1" },
      },
      // Its polls are counted as requests to the control plane: no observation reports among them.
      pluginConfig: { reportIntervalMs: 0 },
    }),
    startLocalStack({ concurrency: 1, controlPlanePort, nodeId: "anonymous" }),
  ]);
  env = { HFI_CONTROL_PLANE_ADDR: reviews.controlPlaneUrl };
  // One worker and the main thread per Envoy: six subscribers once all have polled.
  await expectSoon(status, (s) => s.proxies.filter((p) => p.live).length === 6, 1, 10_000);
}, 60_000);

afterAll(async () => {
  await Promise.all([reviews?.stop(), ratings?.stop(), anonymous?.stop()]);
});

afterEach(async () => {
  await cli(["policy", "delete", "--all"]);
});

/**
 * Every proxy holds a poll with the rules of the store's latest revision: nothing is on its way
 * anywhere (the control plane compiles a change a few milliseconds after the store has it).
 */
async function settled(): Promise<void> {
  const { revision } = (await (await fetch(`${reviews.controlPlaneUrl}/v1/policies`)).json()) as {
    revision: number;
  };
  await expectSoon(
    status,
    (s) =>
      s.proxies.length === 6 &&
      s.proxies.every(
        (p) => p.live && p.polling && (p.revision ?? -1) >= revision && p.ruleSetId === p.servedId,
      ),
    1,
    10_000,
  );
}

async function status(): Promise<ProxiesStatus> {
  return (await (await fetch(`${reviews.controlPlaneUrl}/v1/status/proxies`)).json()) as ProxiesStatus;
}

const cli = (args: string[], stdin?: string) => hfi(args, { command: [HFI_BIN], env, stdin });

/** Requests the Envoy has sent to the control plane: its filters' long-polls. */
async function polls(stack: LocalStack): Promise<number> {
  const text = await (
    await fetch(`${stack.adminUrl}/stats?filter=^cluster\\.hfi_control_plane\\.upstream_rq_total$`)
  ).text();
  return Number(/upstream_rq_total: (\d+)/.exec(text)?.[1]);
}

describe("proxy identity", () => {
  test("the status shows who each Envoy is: plugin configuration, Istio node metadata, nothing", async () => {
    const byNode = Object.fromEntries((await status()).proxies.map((p) => [p.node, p]));
    expect(byNode["reviews-v1"]).toMatchObject({
      cluster: "hfi-local",
      service: "reviews",
      namespace: "shop",
      labels: { app: "reviews", version: "v1" },
    });
    expect(byNode["sidecar~10.0.0.9~ratings-v1-7c9f.shop~shop.svc.cluster.local"]).toMatchObject({
      service: "ratings",
      namespace: "shop",
      labels: { app: "ratings", version: "v1" },
    });
    expect(byNode.anonymous).toMatchObject({ service: "", namespace: "", labels: {} });
    const only = await cli(["status", "--service", "ratings"]);
    expect(only.stdout).toMatch(/^revision \d+: 2\/2 proxies, halted: no, leader: \S+, replicas: 1\n$/);
  });
});

describe("selectors", () => {
  test("a policy for one service faults only its Envoy; --wait counts only the proxies it targets", async () => {
    const run = await cli(
      ["policy", "apply", "--wait=10s", "-f", "-"],
      policyYaml(
        "reviews-down",
        "selector: { service: reviews }, match: { path: { prefix: /api } }, fault: { abort: { httpStatus: 503 } }",
      ),
    );
    expect(run.stderr).toBe("");
    expect(run.stdout).toMatch(/\nrevision \d+ applied by 2\/2 targeted proxies in \d+\.\d+s\n$/);
    for (let i = 0; i < 10; i++) {
      expect((await send(reviews.envoyUrl, "/api/x")).status).toBe(503);
      expect((await send(ratings.envoyUrl, "/api/x")).status).toBe(200);
      expect((await send(anonymous.envoyUrl, "/api/x")).status).toBe(200);
    }
  });

  test("a label selector reaches the Envoy whose Istio metadata carries the labels", async () => {
    const run = await cli(
      ["policy", "apply", "--wait=10s", "-f", "-"],
      policyYaml(
        "ratings-slow",
        "selector: { namespace: shop, matchLabels: { app: ratings } }, fault: { abort: { httpStatus: 502 } }",
      ),
    );
    expect(run.stdout).toMatch(/applied by 2\/2 targeted proxies/);
    expect((await send(ratings.envoyUrl, "/")).status).toBe(502);
    expect((await send(reviews.envoyUrl, "/")).status).toBe(200);
  });

  test("a change for reviews does not wake the ratings Envoy's long-polls; one for ratings does", async () => {
    await settled();
    const before = await polls(ratings);
    const reviewsBefore = await polls(reviews);
    for (const n of [1, 2, 3]) {
      const run = await cli(
        ["policy", "apply", "--wait=10s", "-f", "-"],
        policyYaml(`reviews-${n}`, "selector: { service: reviews }, fault: { abort: { httpStatus: 503 } }"),
      );
      expect(run.stdout).toMatch(/applied by 2\/2 targeted proxies/);
    }
    // Each change answered the reviews Envoy's polls, and left ratings' held: its count stands still.
    expect(await polls(reviews)).toBeGreaterThanOrEqual(reviewsBefore + 6);
    await Bun.sleep(300);
    expect(await polls(ratings)).toBe(before);
    await cli(
      ["policy", "apply", "--wait=10s", "-f", "-"],
      policyYaml("ratings-1", "selector: { service: ratings }, fault: { abort: { httpStatus: 503 } }"),
    );
    expect(await polls(ratings)).toBeGreaterThan(before);
  });
});

describe("match.host", () => {
  test("a host condition faults only requests to that host, port or not, any case", async () => {
    const run = await cli(
      ["policy", "apply", "--wait=10s", "-f", "-"],
      policyYaml(
        "special-host",
        "match: { host: { exact: special.test } }, fault: { abort: { httpStatus: 418 } }",
      ),
    );
    expect(run.stdout).toMatch(/applied by 6\/6 proxies/);
    for (const stack of [reviews, anonymous]) {
      expect((await send(stack.envoyUrl, "/", "GET", { host: "special.test" })).status).toBe(418);
      expect((await send(stack.envoyUrl, "/", "GET", { host: "Special.Test:8080" })).status).toBe(418);
      expect((await send(stack.envoyUrl, "/", "GET", { host: "other.test" })).status).toBe(200);
      expect((await send(stack.envoyUrl, "/", "GET", { host: "special.test.evil" })).status).toBe(200);
    }
  });
});
