/**
 * The web console at fleet scale: the real `dist/hfi serve` (memory store) holding 1,000 policies and
 * long-polled by 1,000 simulated proxy workers (test/support/simulated-proxies.ts, 20 services), read
 * by headless Chromium (test/support/browser.ts). Per round, a fresh page at `/ui`: its first
 * contentful paint (the browser's own figure), when the overview shows all 1,000 proxies, and when the
 * policies page shows all 1,000 policies — each from the navigation's start, as the browser times it.
 * Besides, the console's assets as served, raw and gzipped.
 */
import { gzipSync } from "node:zlib";
import { launchBrowser } from "../test/support/browser.ts";
import { HFI_BIN } from "../test/support/paths.ts";
import { putPolicy } from "../test/support/policies.ts";
import { freePort } from "../test/support/ports.ts";
import { spawnLogged, terminate, waitForUrl } from "../test/support/process.ts";
import { proxiesReady, simulateProxy } from "../test/support/simulated-proxies.ts";
import { type BenchContext, type BenchResult, roundsRow, valueRow } from "./report.ts";

const POLICIES = 1000;
const PROXIES = 1000;
const SERVICES = 20;
const ASSETS = ["/ui", "/ui/console.js", "/ui/console.css"];

export async function consoleBench(ctx: BenchContext): Promise<BenchResult> {
  const rounds = ctx.quick ? 1 : 5;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const command = [HFI_BIN, "serve", "--listen", `127.0.0.1:${port}`];
  const server = spawnLogged(command, "/dev/null");
  const proxies: ReturnType<typeof simulateProxy>[] = [];
  const browser = await launchBrowser();
  try {
    await waitForUrl(`${url}/healthz`, server);
    for (let i = 0; i < POLICIES; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          putPolicy(url, `policy-${String(i + j).padStart(4, "0")}`, {
            selector: { service: `service-${(i + j) % SERVICES}` },
            match: { path: { prefix: `/p${i + j}` } },
            fault: { abort: { httpStatus: 503 }, percentage: 1 },
          }).then((res) => res.arrayBuffer()),
        ),
      );
    }
    for (let i = 0; i < PROXIES; i++) {
      proxies.push(
        simulateProxy(url, {
          node: `node-${Math.floor(i / 2)}`,
          worker: String(i % 2),
          service: `service-${i % SERVICES}`,
          namespace: "bench",
          waitSeconds: 30,
        }),
      );
    }
    await proxiesReady(proxies, 30_000);

    const assets = await Promise.all(
      ASSETS.map(async (path) => {
        const body = new Uint8Array(await (await fetch(`${url}${path}`)).arrayBuffer());
        return { path, bytes: body.length, gzipped: gzipSync(body, { level: 9 }).length };
      }),
    );
    const samples: { firstPaintMs: number; overviewMs: number; policiesMs: number }[] = [];
    for (let round = 0; round < rounds; round++) {
      const context = await browser.createBrowserContext();
      const page = await context.newPage();
      await page.setViewport({ width: 1280, height: 900 });
      await page.goto(`${url}/ui#/overview`);
      await page.waitForFunction(`document.querySelectorAll("#main tbody tr").length >= ${PROXIES}`, {
        polling: "mutation",
        timeout: 60_000,
      });
      const overviewMs = (await page.evaluate("performance.now()")) as number;
      const firstPaintMs = (await page.evaluate(
        `performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN`,
      )) as number;
      const started = (await page.evaluate("performance.now()")) as number;
      await page.evaluate(`location.hash = "#/policies"`);
      await page.waitForFunction(`document.querySelectorAll("#main tbody tr").length >= ${POLICIES}`, {
        polling: "mutation",
        timeout: 60_000,
      });
      const policiesMs = ((await page.evaluate("performance.now()")) as number) - started;
      samples.push({ firstPaintMs, overviewMs, policiesMs });
      await context.close();
    }
    const total = assets.reduce(
      (sum, a) => ({ bytes: sum.bytes + a.bytes, gzipped: sum.gzipped + a.gzipped }),
      {
        bytes: 0,
        gzipped: 0,
      },
    );
    return {
      params: { policies: POLICIES, proxies: PROXIES, services: SERVICES, rounds, viewport: "1280x900" },
      commands: [command.join(" ")],
      samples: { rounds: samples, assets },
      rows: [
        valueRow(
          "console assets, gzipped (page, script, style)",
          total.gzipped / 1024,
          "KiB",
          { op: "<=", bound: 250 },
          `${(total.bytes / 1024).toFixed(1)} KiB as served`,
        ),
        roundsRow(
          "console first contentful paint, 1,000 policies and 1,000 proxies",
          samples.map((s) => s.firstPaintMs),
          "ms",
        ),
        roundsRow(
          "console overview showing all 1,000 proxies, from navigation",
          samples.map((s) => s.overviewMs),
          "ms",
        ),
        roundsRow(
          "console policies page showing all 1,000 policies, from the click",
          samples.map((s) => s.policiesMs),
          "ms",
        ),
      ],
      notes: [
        "Headless Chromium (Debian's package) on the same machine as the control plane and the simulated proxies.",
      ],
    };
  } finally {
    await browser.close();
    await Promise.all(proxies.map((p) => p.stop()));
    await terminate(server.proc);
  }
}
