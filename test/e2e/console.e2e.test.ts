/**
 * The web console in a real browser: headless Chromium (Debian's package) on the real
 * `dist/hfi serve --auth-token-file` with the real Envoy 1.40 polling it. A writer applies a policy
 * from the editor and Envoy injects it, sees the server's validation error at the field's line, halts
 * and resumes by keyboard and Envoy follows, deletes after confirming; a reader sees no write
 * controls and the server refuses its writes anyway. axe-core finds no WCAG A/AA violation on any
 * page, and at 200% zoom (a 640 px wide viewport) no page scrolls sideways.
 * Requires `npm run build` and `scripts/setup.sh --test`. With HFI_CONSOLE_SCREENSHOTS=DIR it saves
 * a screenshot of each page there (docs/console/ holds the committed ones).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "puppeteer-core";
import type { ExperimentResults } from "../../src/experiments/index.ts";
import { axeViolations, launchBrowser } from "../support/browser.ts";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";
import { policy } from "../support/policies.ts";
import { expectSoon, send } from "../support/requests.ts";

const WRITER = "writer-console-3b9e51";
const READER = "reader-console-8c41d7";
const SCREENSHOTS = process.env.HFI_CONSOLE_SCREENSHOTS;

const work = mkdtempSync(join(tmpdir(), "hfi-console-"));
const tokenFile = join(work, "tokens");
writeFileSync(tokenFile, `writer:${WRITER}\nreader:${READER}\n`);

let stack: LocalStack;
let browser: Browser;
beforeAll(async () => {
  stack = await startLocalStack({
    concurrency: 2,
    serveArgs: ["--auth-token-file", tokenFile],
    // Observations reach the control plane within 200 ms, for the experiments' charts and stop conditions.
    pluginConfig: { token: READER, reportIntervalMs: 200 },
  });
  browser = await launchBrowser();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  rmSync(work, { recursive: true, force: true });
});

const policyYaml = (name: string, httpStatus: number | string) => `apiVersion: hfi.dev/v1alpha1
kind: FaultInjectionPolicy
metadata:
  name: ${name}
spec:
  match:
    path:
      prefix: /console
  fault:
    abort:
      httpStatus: ${httpStatus}
    percentage: 100
`;

/** A fresh browser context (its own sessionStorage), signed in at `/` with `token`. */
async function signIn(token: string, width = 1280): Promise<Page> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({ width, height: 900 });
  await page.goto(`${stack.controlPlaneUrl}/`);
  await page.waitForSelector("#token");
  expect(page.url()).toBe(`${stack.controlPlaneUrl}/ui`);
  await page.type("#token", token);
  await page.keyboard.press("Enter");
  await waitForText(page, "h1", "Overview");
  return page;
}

/** What the page's script sees; strings rather than functions, as this program has no DOM types. */
function inPage<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}

async function waitForText(page: Page, selector: string, text: string): Promise<void> {
  await page.waitForFunction(
    `[...document.querySelectorAll(${JSON.stringify(selector)})].some((e) => e.textContent.includes(${JSON.stringify(text)}))`,
    { timeout: 10_000 },
  );
}

const textOf = (page: Page, selector: string) =>
  inPage<string | null>(page, `document.querySelector(${JSON.stringify(selector)})?.textContent ?? null`);

async function go(page: Page, hash: string, heading: string): Promise<void> {
  await inPage(page, `location.hash = ${JSON.stringify(hash)}`);
  await waitForText(page, "h1", heading);
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) as `${string}.png`, fullPage: true });
}

function api(method: string, path: string, token = WRITER): Promise<Response> {
  return fetch(`${stack.controlPlaneUrl}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
}

/** Starts an experiment of one abort policy on `/exp`, for 2 minutes unless something stops it. */
async function startExperiment(
  name: string,
  stopConditions: Record<string, unknown>[],
): Promise<{ id: string }> {
  const res = await fetch(`${stack.controlPlaneUrl}/v1/experiments`, {
    method: "POST",
    headers: { authorization: `Bearer ${WRITER}`, "content-type": "application/json" },
    body: JSON.stringify({
      name,
      duration: "120s",
      stopConditions,
      policies: [
        policy(name, { match: { path: { prefix: "/exp" } }, fault: { abort: { httpStatus: 503 } } }),
      ],
    }),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST /v1/experiments: ${res.status} ${text}`);
  return JSON.parse(text);
}

const through = () => send(stack.envoyUrl, "/console/item");

describe("web console", () => {
  test("a writer applies a policy from the editor, sees it in the list, and Envoy injects it", async () => {
    const page = await signIn(WRITER);
    expect(await textOf(page, "#access")).toContain("Read and write");
    await waitForText(page, "#main", "Proxies");
    const fleet = (await (await api("GET", "/v1/status")).json()) as { leader: string; replica: string };
    expect(fleet.leader).toBe(fleet.replica);
    await waitForText(page, "#main p", `1 replica live. Leader: ${fleet.leader} (this replica).`);
    await waitForText(page, "#main td", fleet.replica);
    expect(await axeViolations(page)).toEqual([]);

    await go(page, "#/apply", "Apply a policy");
    await page.waitForFunction(`document.getElementById("policy-yaml").value !== ""`);
    await inPage(
      page,
      `document.getElementById("policy-yaml").value = ${JSON.stringify(policyYaml("console-abort", 503))}`,
    );
    await screenshot(page, "editor");
    await page.click("form button[type=submit]");
    await waitForText(page, "h1", "Policy console-abort");
    await page.waitForSelector("pre.yaml");
    expect(await textOf(page, "pre.yaml")).toContain("httpStatus: 503");
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, "policy");

    await expectSoon(through, (sent) => sent.status === 503);

    await go(page, "#/policies", "Policies");
    await waitForText(page, "td a", "console-abort");
    const header = await inPage<string[]>(
      page,
      `[...document.querySelectorAll("th")].map((th) => th.textContent)`,
    );
    expect(header).toEqual([
      "Name",
      "Priority",
      "Matches",
      "Faults",
      "Age",
      "Generation",
      "Resource version",
      "Created",
      "Selector",
    ]);
    expect(await textOf(page, "tbody tr")).toContain("abort=503");
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, "policies");
    await page.browserContext().close();
  }, 30_000);

  test("the server's validation error is listed with the line of its field, which it selects", async () => {
    const page = await signIn(WRITER);
    await go(page, "#/apply", "Apply a policy");
    const yaml = policyYaml("console-invalid", 700);
    const line = yaml.split("\n").findIndex((l) => l.includes("httpStatus")) + 1;
    await inPage(page, `document.getElementById("policy-yaml").value = ${JSON.stringify(yaml)}`);
    await page.click("form button[type=submit]");
    const issue = '#apply-errors li[data-path="spec.fault.abort.httpStatus"]';
    await page.waitForSelector(issue);
    expect(await textOf(page, issue)).toStartWith(`Line ${line} spec.fault.abort.httpStatus: `);
    expect(await inPage(page, `document.getElementById("policy-yaml").getAttribute("aria-invalid")`)).toBe(
      "true",
    );
    // The editor's line numbers mark that line, and only it.
    expect(
      await inPage(page, `[...document.querySelectorAll(".gutter .bad")].map((e) => e.textContent)`),
    ).toEqual([String(line)]);
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, "validation-error");

    await page.click(`${issue} button`);
    const selected = await inPage<string>(
      page,
      `(() => { const e = document.activeElement; return e.value.slice(e.selectionStart, e.selectionEnd); })()`,
    );
    expect(selected).toBe("      httpStatus: 700");
    expect((await api("GET", "/v1/policies/console-invalid")).status).toBe(404);
    await page.browserContext().close();
  }, 30_000);

  test("halting by keyboard stops the faults in Envoy, with the reason; resuming brings them back", async () => {
    const put = await fetch(`${stack.controlPlaneUrl}/v1/policies/console-halt`, {
      method: "PUT",
      headers: { authorization: `Bearer ${WRITER}`, "content-type": "application/yaml" },
      body: policyYaml("console-halt", 503),
    });
    expect(put.ok).toBe(true);
    await expectSoon(through, (sent) => sent.status === 503);

    const page = await signIn(WRITER);
    await waitForText(page, ".state", "Running");
    await screenshot(page, "overview");
    let focused = "";
    for (let presses = 0; presses < 40 && focused !== "Halt all faults"; presses++) {
      await page.keyboard.press("Tab");
      focused = (await inPage<string>(page, "document.activeElement.textContent")) ?? "";
    }
    expect(focused).toBe("Halt all faults");
    await page.keyboard.press("Enter");
    await page.waitForSelector("dialog[open]");
    expect(await inPage(page, "document.activeElement.id")).toBe("dialog-reason");
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, "halt-dialog");
    await page.keyboard.type("game day over");
    await page.keyboard.press("Enter");

    await waitForText(page, ".state", "Halted");
    expect(await textOf(page, "dl")).toContain("game day over");
    await expectSoon(through, (sent) => sent.status === 200);
    const halt = (await (await api("GET", "/v1/halt")).json()) as { halted: boolean; reason: string };
    expect(halt).toMatchObject({ halted: true, reason: "game day over" });
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, "overview-halted");

    await page.click("button.big");
    await page.waitForSelector("dialog[open]");
    await page.click("dialog button[value=confirm]");
    await waitForText(page, ".state", "Running");
    await expectSoon(through, (sent) => sent.status === 503);
    await page.browserContext().close();
  }, 30_000);

  test("delete asks first: cancelled, the policy stays; confirmed, it is gone and Envoy stops injecting", async () => {
    const page = await signIn(WRITER);
    await go(page, "#/policies/console-halt", "Policy console-halt");
    await waitForText(page, "button", "Delete");
    await page.click("button.danger");
    await page.waitForSelector("dialog[open]");
    await page.click("dialog button.secondary");
    await page.waitForFunction(`!document.querySelector("dialog")`);
    expect((await api("GET", "/v1/policies/console-halt")).status).toBe(200);

    await page.click("button.danger");
    await page.waitForSelector("dialog[open]");
    await page.click("dialog button[value=confirm]");
    await waitForText(page, "h1", "Policies");
    expect((await api("GET", "/v1/policies/console-halt")).status).toBe(404);
    expect((await api("DELETE", "/v1/policies/console-abort")).status).toBe(200);
    await expectSoon(through, (sent) => sent.status === 200);
    await page.browserContext().close();
  }, 30_000);

  test("a reader token shows no write controls, and the server refuses a reader's write anyway", async () => {
    const put = await fetch(`${stack.controlPlaneUrl}/v1/policies/console-read`, {
      method: "PUT",
      headers: { authorization: `Bearer ${WRITER}`, "content-type": "application/yaml" },
      body: policyYaml("console-read", 503),
    });
    expect(put.ok).toBe(true);
    const page = await signIn(READER);
    await waitForText(page, ".state", "Running");
    expect(await textOf(page, "#access")).toContain("Read only");
    expect(await inPage(page, `document.querySelectorAll("#main button").length`)).toBe(0);
    expect(
      await inPage(page, `getComputedStyle(document.querySelector('nav a[href="#/apply"]')).display`),
    ).toBe("none");
    await go(page, "#/policies", "Policies");
    await waitForText(page, "td a", "console-read");
    expect(await inPage(page, `document.querySelectorAll("#main a.button, #main button").length`)).toBe(0);
    await go(page, "#/policies/console-read", "Policy console-read");
    await page.waitForSelector("pre.yaml");
    expect(await inPage(page, `document.querySelectorAll("#main a.button, #main button").length`)).toBe(0);
    expect(await axeViolations(page)).toEqual([]);

    const status = await inPage<number>(
      page,
      `fetch("/v1/halt", { method: "POST", headers: { authorization: "Bearer " + sessionStorage.getItem("hfi.token") } }).then((r) => r.status)`,
    );
    expect(status).toBe(403);
    expect((await api("DELETE", "/v1/policies/console-read")).status).toBe(200);
    await page.browserContext().close();
  }, 30_000);

  test("at 200% zoom (640 px wide) no page scrolls sideways and axe still finds nothing", async () => {
    const page = await signIn(WRITER, 640);
    const sideways = `document.documentElement.scrollWidth > document.documentElement.clientWidth`;
    for (const [hash, heading] of [
      ["#/overview", "Overview"],
      ["#/policies", "Policies"],
      ["#/apply", "Apply a policy"],
      ["#/experiments", "Experiments"],
    ]) {
      await go(page, hash as string, heading as string);
      await waitForText(page, "#main", heading as string);
      expect({ hash, sideways: await inPage(page, sideways) }).toEqual({ hash, sideways: false });
      expect(await axeViolations(page)).toEqual([]);
    }
    await page.browserContext().close();
  }, 30_000);

  test("a timed policy shows the time it has left, in the list and on its page", async () => {
    const put = await fetch(`${stack.controlPlaneUrl}/v1/policies/console-timed`, {
      method: "PUT",
      headers: { authorization: `Bearer ${WRITER}`, "content-type": "application/yaml" },
      body: policyYaml("console-timed", 503).replace("spec:\n", "spec:\n  duration: 10m\n"),
    });
    expect(put.status).toBe(201);
    const page = await signIn(READER);
    await go(page, "#/policies", "Policies");
    await waitForText(page, "td a", "console-timed");
    const expires = await inPage<string>(
      page,
      `(() => { const i = [...document.querySelectorAll("th")].findIndex((th) => th.textContent === "Expires");
        return document.querySelectorAll("tbody tr td")[i].textContent; })()`,
    );
    expect(expires).toMatch(/^(10m|9m[0-5]\ds)$/);
    await go(page, "#/policies/console-timed", "Policy console-timed");
    await waitForText(page, "#main p", "Time left: ");
    expect(await textOf(page, "#main p.summary")).toMatch(/^Time left: (10m|9m[0-5]\ds) \(expires \d{4}-/);
    expect((await api("DELETE", "/v1/policies/console-timed")).status).toBe(200);
    await page.browserContext().close();
  }, 30_000);

  test("an experiment's charts update live, its threshold is drawn, its stop condition fires and the faults end in Envoy", async () => {
    const { id } = await startExperiment("console-exp", [{ metric: "errorRate", threshold: 0.5, for: "2s" }]);
    const page = await signIn(WRITER);
    await go(page, "#/experiments", "Experiments");
    await waitForText(page, "h2", "Running (1)");
    await page.click(`a[href="#/experiments/${id}"]`);
    await waitForText(page, "h1", "Experiment console-exp");

    const traffic = new AbortController();
    const sending = (async () => {
      while (!traffic.signal.aborted) await send(stack.envoyUrl, "/exp/checkout");
    })();
    try {
      const errorRate = 'polyline[data-series="error rate"]';
      await page.waitForFunction(`Number(document.querySelector('${errorRate}')?.dataset.points) >= 2`, {
        timeout: 10_000,
      });
      expect(
        await inPage(page, `document.querySelectorAll('line.threshold[data-threshold="0.5"]').length`),
      ).toBe(1);
      await waitForText(page, "#experiment-state", "Stopped: stopCondition errorRate>0.5 for 2s");
    } finally {
      traffic.abort();
      await sending;
    }
    await expectSoon(
      () => send(stack.envoyUrl, "/exp/checkout"),
      (sent) => sent.status === 200,
    );
    await waitForText(page, "#main td", "stopCondition errorRate>0.5 for 2s");
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, "experiment");

    const downloads = join(work, "downloads");
    const cdp = await page.createCDPSession();
    await cdp.send("Page.setDownloadBehavior", { behavior: "allow", downloadPath: downloads });
    await page.click("#results-download");
    const file = join(downloads, `experiment-${id}.json`);
    await expectSoon(
      async () => existsSync(file),
      (there) => there,
      1,
    );
    const downloaded = JSON.parse(readFileSync(file, "utf8")) as ExperimentResults;
    expect(downloaded).toMatchObject({ id, state: "Stopped" });
    expect(downloaded.phases.running?.requests).toBeGreaterThan(0);
    await page.browserContext().close();
  }, 30_000);

  test("Stop ends a running experiment after confirming; a reader gets no Stop button", async () => {
    const { id } = await startExperiment("console-stop", []);
    const reader = await signIn(READER);
    await go(reader, `#/experiments/${id}`, "Experiment console-stop");
    await waitForText(reader, "#experiment-state", "Running");
    expect(await inPage(reader, `document.querySelectorAll("#main button").length`)).toBe(0);
    await reader.browserContext().close();

    const page = await signIn(WRITER);
    await go(page, `#/experiments/${id}`, "Experiment console-stop");
    await waitForText(page, "#main button", "Stop");
    await page.click("#main button.danger");
    await page.waitForSelector("dialog[open]");
    await page.click("dialog button[value=confirm]");
    await waitForText(page, "#experiment-state", "Stopped: stopped by user");
    const experiment = (await (await api("GET", `/v1/experiments/${id}`)).json()) as { state: string };
    expect(experiment.state).toBe("Stopped");
    await go(page, "#/experiments", "Experiments");
    await waitForText(page, "h2", "Stopped");
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, "experiments");
    await page.browserContext().close();
  }, 30_000);

  test("the overview's 2 s refresh keeps the keyboard's place in a proxies table", async () => {
    const page = await signIn(WRITER);
    await page.waitForSelector("#main .scroll");
    await inPage(
      page,
      `(window.before = document.querySelector("#main table"), document.querySelector("#main .scroll").focus())`,
    );
    await page.waitForFunction(`document.querySelector("#main table") !== window.before`, {
      timeout: 10_000,
    });
    expect(await inPage(page, `document.activeElement === document.querySelector("#main .scroll")`)).toBe(
      true,
    );
    await page.browserContext().close();
  }, 30_000);

  test("without a token the console asks for one, and a wrong one is refused", async () => {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.goto(`${stack.controlPlaneUrl}/ui`);
    await page.waitForSelector("#token");
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, "sign-in");
    await page.type("#token", "not-a-token");
    await page.keyboard.press("Enter");
    await waitForText(page, "#main p", "The token was refused");
    expect(await inPage(page, `sessionStorage.getItem("hfi.token")`)).toBe("not-a-token");
    expect(await inPage(page, `localStorage.length`)).toBe(0);
    await context.close();
  }, 30_000);
});
