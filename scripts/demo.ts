/**
 * `npm run demo [-- --exit] [-- --no-build]`: builds hfi, starts the local stack (control plane,
 * Envoy with the filter, sample upstream) on the README tour's ports 8080, 10000 and 9901 when they
 * are free, applies examples/abort.yaml and shows the fault appear and disappear with real curl
 * output. Without --exit it keeps running until Ctrl-C, which stops everything, and prints the
 * `export` lines that point the tour at it. `--no-build` uses dist/ as it is (the doc-test, after
 * `npm test` built it).
 */
import { $ } from "bun";
import { type LocalStack, startLocalStack } from "../test/support/local-stack.ts";

const root = new URL("..", import.meta.url).pathname;
const exitWhenDone = process.argv.includes("--exit");
const build = !process.argv.includes("--no-build");
/** The README tour's addresses; taken when free, so its `export` lines work as written. */
const TOUR_PORTS = { controlPlane: 8080, envoy: 10000, admin: 9901 };
const POLICY = "checkout-abort";

const bold = process.stdout.isTTY && !process.env.NO_COLOR;
const step = (text: string) => console.log(bold ? `\n\x1b[1m==> ${text}\x1b[0m` : `\n==> ${text}`);
const shellQuote = (arg: string) =>
  /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;

async function curl(args: string[]): Promise<string> {
  console.log(`$ curl ${args.map(shellQuote).join(" ")}`);
  const out = await $`curl -sS -i ${args}`.nothrow().text();
  console.log(out.trimEnd());
  return out;
}

/** Polls until `predicate` holds for the HTTP status of a request; the filter picks changes up asynchronously. */
async function waitForStatus(url: string, init: RequestInit, expected: number, timeoutMs = 5000) {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const status = await fetch(url, init).then((r) => r.status);
    if (status === expected) return Date.now() - start;
    await Bun.sleep(50);
  }
  throw new Error(`${init.method ?? "GET"} ${url} did not answer ${expected} within ${timeoutMs} ms`);
}

async function runScenario(stack: LocalStack) {
  const checkout = `${stack.envoyUrl}/api/checkout`;

  step("Before any policy: traffic is healthy");
  await curl(["-X", "POST", checkout]);

  step(`Apply examples/abort.yaml (PUT /v1/policies/${POLICY})`);
  await curl([
    "-X",
    "PUT",
    "-H",
    "content-type: application/yaml",
    "--data-binary",
    "@examples/abort.yaml",
    `${stack.controlPlaneUrl}/v1/policies/${POLICY}`,
  ]);
  const appliedMs = await waitForStatus(checkout, { method: "POST" }, 503);
  console.log(`(fault active in Envoy ${appliedMs} ms after the apply returned)`);

  step("POST /api/checkout is aborted by the fault");
  const aborted = await curl(["-X", "POST", checkout]);
  step("GET /api/products does not match and passes through");
  const passed = await curl([`${stack.envoyUrl}/api/products`]);

  step(`Delete the policy (DELETE /v1/policies/${POLICY})`);
  await curl(["-X", "DELETE", `${stack.controlPlaneUrl}/v1/policies/${POLICY}`]);
  await waitForStatus(checkout, { method: "POST" }, 200);
  step("POST /api/checkout is healthy again");
  const healed = await curl(["-X", "POST", checkout]);

  const ok = /^HTTP\/\S+ 503/.test(aborted) && /x-hfi-fault: checkout-abort/i.test(aborted);
  if (!ok || !/^HTTP\/\S+ 200/.test(passed) || !/^HTTP\/\S+ 200/.test(healed)) {
    throw new Error("demo scenario did not show the expected responses");
  }
}

$.cwd(root);
if (build) {
  step("Building dist/hfi and dist/hfi-filter.wasm");
  await $`bun scripts/build.ts`;
}

step("Starting control plane, Envoy (2 workers) with the hfi filter, and a sample upstream");
const stack = await startLocalStack({ concurrency: 2, preferredPorts: TOUR_PORTS });
let stopping = false;
const shutdown = async (code: number) => {
  if (stopping) return;
  stopping = true;
  await stack.stop();
  process.exit(code);
};
process.on("SIGINT", () => shutdown(0));
process.on("SIGTERM", () => shutdown(0));
console.log(`  control plane  ${stack.controlPlaneUrl}   (dist/hfi serve, pid ${stack.pids.hfi})`);
console.log(`  envoy          ${stack.envoyUrl}   (admin ${stack.adminUrl}, pid ${stack.pids.envoy})`);
console.log(`  upstream       ${stack.upstreamUrl}   (sample app, in this process)`);
console.log(`  logs           ${stack.logDir}`);

try {
  await runScenario(stack);
} catch (error) {
  console.error(`\ndemo failed: ${(error as Error).message}\nlogs: ${stack.logDir}`);
  await shutdown(1);
}

if (exitWhenDone) {
  step("Done; stopping everything");
  await shutdown(0);
} else {
  step("The stack keeps running. For the tour in README.md, paste into another shell (in this directory):");
  console.log(`export HFI_CONTROL_PLANE_ADDR=${stack.controlPlaneUrl}
export ENVOY=${stack.envoyUrl}
export ENVOY_ADMIN=${stack.adminUrl}
export PATH="$PWD/dist:$PATH"`);
  const onTourPorts =
    stack.controlPlaneUrl.endsWith(`:${TOUR_PORTS.controlPlane}`) &&
    stack.envoyUrl.endsWith(`:${TOUR_PORTS.envoy}`) &&
    stack.adminUrl.endsWith(`:${TOUR_PORTS.admin}`);
  if (!onTourPorts) {
    const ports = Object.values(TOUR_PORTS).join(", ");
    console.log(`(some of the ports ${ports} were taken, so these differ from the README's)`);
  }
  console.log(`Envoy's stats: curl -s "$ENVOY_ADMIN/stats?filter=wasmcustom.hfi"
Press Ctrl-C to stop everything (control plane, Envoy, upstream).`);
}
