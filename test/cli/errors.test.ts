import { afterAll, beforeAll, expect, test } from "bun:test";
import { createServer, type Server } from "node:net";
import type { RunningServer } from "../../src/server/index.ts";
import { hfi, tempDir } from "../support/cli.ts";
import { startControlPlane } from "../support/control-plane.ts";
import { policyYaml } from "../support/policies.ts";
import { freePort } from "../support/ports.ts";

let server: RunningServer;
beforeAll(async () => {
  server = await startControlPlane();
});
afterAll(() => server.stop());

test("connection refused names the address and the flag to change it", async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  expect(await hfi(["policy", "get", "--control-plane-addr", url])).toEqual({
    code: 1,
    stdout: "",
    stderr:
      `error: cannot connect to the control plane at ${url} (connection refused); ` +
      "is `hfi serve` running there? Set --control-plane-addr or HFI_CONTROL_PLANE_ADDR to its address\n",
  });
});

test("a control plane that never answers times out after --timeout", async () => {
  const silent: Server = createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
  try {
    const started = performance.now();
    const run = await hfi(["policy", "get", "--timeout", "300ms"], { env: { HFI_CONTROL_PLANE_ADDR: url } });
    expect(performance.now() - started).toBeLessThan(5000);
    expect(run).toEqual({
      code: 1,
      stdout: "",
      stderr:
        `error: the control plane at ${url} did not answer within 300ms; ` +
        "raise --timeout, or check --control-plane-addr or HFI_CONTROL_PLANE_ADDR\n",
    });
  } finally {
    silent.close();
  }
});

test("the flag beats the environment, and global flags may stand before the command", async () => {
  const refused = `http://127.0.0.1:${await freePort()}`;
  const viaFlag = await hfi(["--control-plane-addr", server.url, "policy", "get"], {
    env: { HFI_CONTROL_PLANE_ADDR: refused },
  });
  expect(viaFlag).toEqual({ code: 0, stdout: "", stderr: "No resources found\n" });
  // host:port without a scheme means http://
  const bare = server.url.replace("http://", "");
  expect((await hfi(["policy", "get", "--control-plane-addr", bare])).code).toBe(0);
});

test("bad global flag values are caught before any request", async () => {
  expect(await hfi(["policy", "get", "--timeout", "soon"])).toEqual({
    code: 1,
    stdout: "",
    stderr: 'error: invalid --timeout "soon": expected a duration such as 30s, 1m or 500ms\n',
  });
  expect(await hfi(["policy", "get", "--control-plane-addr", "ftp://x"])).toEqual({
    code: 1,
    stdout: "",
    stderr: 'error: invalid --control-plane-addr "ftp://x": expected a URL such as http://localhost:8080\n',
  });
});

test("stack traces only with --debug, which also traces the requests", async () => {
  const env = { HFI_CONTROL_PLANE_ADDR: server.url };
  const plain = await hfi(["policy", "get", "missing"], { env });
  expect(plain.stderr).not.toContain("    at ");
  const debug = await hfi(["policy", "get", "missing", "--debug"], { env });
  expect(debug.code).toBe(1);
  expect(debug.stderr).toMatch(new RegExp(`^GET ${server.url}/v1/policies/missing 404 in \\d+ ms\\n`));
  expect(debug.stderr).toContain(
    'Error from server (NotFound): faultinjectionpolicies.hfi.dev "missing" not found\n',
  );
  expect(debug.stderr).toMatch(/\n {4}at .*client\.ts/);
});

test("unknown commands and flags are usage errors with a pointer to --help", async () => {
  expect(await hfi(["policy", "frob"])).toEqual({
    code: 1,
    stdout: "",
    stderr: 'error: unknown command "frob" for "hfi policy"\nRun \'hfi policy --help\' for usage.\n',
  });
  expect(await hfi(["policy", "get", "--frob"])).toEqual({
    code: 1,
    stdout: "",
    stderr: "error: unknown flag: --frob\nRun 'hfi policy get --help' for usage.\n",
  });
});

test("--help and a bare group print usage, exit 0, without colour when piped", async () => {
  for (const args of [["policy", "--help"], ["policy"]]) {
    const run = await hfi(args);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("USAGE hfi policy [OPTIONS] apply|get|delete");
    expect(run.stdout).not.toContain("\u001b[");
  }
  const apply = await hfi(["policy", "apply", "-h"]);
  expect(apply.stdout).toContain("-f, --filename=<FILE|DIR|->");
  expect(apply.stdout).toContain("--control-plane-addr=<url>");
});

test("colour only when asked for; NO_COLOR wins", async () => {
  const args = ["policy", "get", "missing", "--control-plane-addr", server.url];
  const forced = await hfi(args, { env: { FORCE_COLOR: "1" } });
  expect(forced.stderr).toStartWith("\u001b[31mError from server (NotFound)\u001b[39m: ");
  expect((await hfi(args, { env: { FORCE_COLOR: "1", NO_COLOR: "1" } })).stderr).not.toContain("\u001b[");
  expect((await hfi(args)).stderr).not.toContain("\u001b[");
});

test("--token / HFI_TOKEN go out as a bearer token; 401 says how to send one, 403 why not", async () => {
  const tokens = tempDir({ tokens: "writer:s3cret\nreader:peek\n" });
  const guarded = await startControlPlane({ authTokenFile: `${tokens}/tokens` });
  try {
    const env = { HFI_CONTROL_PLANE_ADDR: guarded.url };
    const apply = ["policy", "apply", "-f", "-"];
    expect((await hfi([...apply, "--token", "s3cret"], { env, stdin: policyYaml("guarded") })).stdout).toBe(
      "faultinjectionpolicy.hfi.dev/guarded created\n",
    );
    expect((await hfi(["policy", "get", "-o", "json"], { env: { ...env, HFI_TOKEN: "peek" } })).code).toBe(0);
    expect(await hfi(["policy", "get"], { env })).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "Error from server (Unauthenticated): this server requires an Authorization: Bearer token; " +
        "set --token or HFI_TOKEN\n",
    });
    expect(await hfi(["policy", "delete", "guarded", "--token", "peek"], { env })).toEqual({
      code: 1,
      stdout: "",
      stderr: "Error from server (Forbidden): a reader token cannot change policies; use a writer token\n",
    });
  } finally {
    await guarded.stop();
  }
});

test("an answer that is not an API error (a proxy's 502 page) still reads as one", async () => {
  const proxy = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () =>
      new Response("upstream connect error", { status: 502, headers: { "content-type": "text/plain" } }),
  });
  try {
    expect(
      await hfi(["policy", "get"], { env: { HFI_CONTROL_PLANE_ADDR: `http://127.0.0.1:${proxy.port}` } }),
    ).toEqual({
      code: 1,
      stdout: "",
      stderr: "Error from server (Bad Gateway): upstream connect error\n",
    });
  } finally {
    await proxy.stop(true);
  }
});
