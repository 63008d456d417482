/**
 * The standalone executable (dist/hfi, built by `npm run build`): it must work from an empty
 * directory with a bare environment, without Bun, node_modules or the network.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { compileFilter } from "../../src/build-filter/index.ts";
import { RULESET_FORMAT } from "../../src/ruleset/format.ts";
import type { RunningServer } from "../../src/server/index.ts";
import { hfi, type Run, tempDir } from "../support/cli.ts";
import { startControlPlane } from "../support/control-plane.ts";
import { startTestEtcd } from "../support/etcd.ts";
import { answersWhileRefusingBomb } from "../support/hostile-bodies.ts";
import { ROOT } from "../support/paths.ts";
import { policyYaml } from "../support/policies.ts";
import { freePorts } from "../support/ports.ts";

const BIN = join(ROOT, "dist/hfi");
const RELEASE_WASM = readFileSync(join(ROOT, "dist/hfi-filter.wasm"));
/** A network namespace of its own (no network at all) when this machine allows it. */
const CAN_UNSHARE = Bun.spawnSync(["unshare", "-n", "true"], { stderr: "ignore" }).exitCode === 0;

/**
 * `dist/hfi ARGS…` in `dir` with only PATH=/usr/bin:/bin and HOME=dir (plus `env`): no Bun, no
 * node_modules, no caches. `offline` also takes the network away where `unshare -n` is allowed.
 */
function runBinary(
  args: string[],
  {
    dir,
    env = {},
    stdin,
    offline = false,
  }: { dir: string; env?: Record<string, string>; stdin?: string; offline?: boolean },
): Promise<Run> {
  const command = offline && CAN_UNSHARE ? ["unshare", "-n", BIN] : [BIN];
  return hfi(args, {
    command,
    cwd: dir,
    env: { PATH: "/usr/bin:/bin", HOME: dir, ...env },
    inheritEnv: false,
    stdin,
  });
}

let server: RunningServer;
beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error("dist/hfi is missing: run `npm run build` first");
  server = await startControlPlane();
});
afterAll(() => server?.stop());

test("version from an empty directory", async () => {
  const run = await runBinary(["version"], { dir: tempDir(), offline: true });
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(
    new RegExp(
      `^hfi \\d+\\.\\d+\\.\\d+\ncommit: \\S+\nruleset format: ${RULESET_FORMAT}\nproxy-wasm ABI: 0\\.2\\.1\n$`,
    ),
  );
});

test("build-filter in an empty directory, offline, writes exactly dist/hfi-filter.wasm", async () => {
  const dir = tempDir();
  const run = await runBinary(["build-filter"], { dir, offline: true });
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  const built = readFileSync(join(dir, "hfi-filter.wasm"));
  expect(built.equals(RELEASE_WASM)).toBe(true);
  const [size, sha, imports, ...names] = run.stdout.trimEnd().split("\n");
  expect(size).toMatch(
    new RegExp(`^hfi-filter\\.wasm: ${built.length} bytes, release build of \\d+ embedded sources$`),
  );
  expect(sha).toBe(`sha256: ${new Bun.CryptoHasher("sha256").update(built).digest("hex")}`);
  expect(imports).toBe(`imports (${names.length}), all provided by Envoy:`);
  for (const name of names) expect(name).toMatch(/^ {2}(env\.proxy_\w+|wasi_snapshot_preview1\.\w+)$/);
}, 30_000);

test("build-filter --debug matches the debug build of the sources; -o - writes to stdout", async () => {
  const dir = tempDir();
  expect(
    (await runBinary(["build-filter", "--debug", "-o", "debug.wasm"], { dir, offline: true })).code,
  ).toBe(0);
  const reference = await compileFilter({ debug: true, baseDir: join(ROOT, "filter") });
  expect(readFileSync(join(dir, "debug.wasm")).equals(Buffer.from(reference))).toBe(true);

  const proc = Bun.spawn([BIN, "build-filter", "-o", "-"], {
    cwd: dir,
    env: { PATH: "/usr/bin:/bin" },
    stderr: "pipe",
  });
  const piped = Buffer.from(await new Response(proc.stdout).arrayBuffer());
  expect(await proc.exited).toBe(0);
  expect(piped.equals(RELEASE_WASM)).toBe(true);
  expect(await new Response(proc.stderr).text()).toStartWith("<stdout>: ");
}, 60_000);

test("the binary's client commands round-trip against a real control plane", async () => {
  const dir = tempDir();
  const env = { HFI_CONTROL_PLANE_ADDR: server.url };
  const apply = (stdin: string) => runBinary(["policy", "apply", "-f", "-"], { dir, env, stdin });
  expect((await apply(policyYaml("from-binary"))).stdout).toBe(
    "faultinjectionpolicy.hfi.dev/from-binary created\n",
  );
  const yaml = (await runBinary(["policy", "get", "-o", "yaml"], { dir, env })).stdout;
  expect((await apply(yaml)).stdout).toBe("faultinjectionpolicy.hfi.dev/from-binary unchanged\n");
  expect((await runBinary(["policy", "delete", "from-binary"], { dir, env })).stdout).toBe(
    "faultinjectionpolicy.hfi.dev/from-binary deleted\n",
  );
});

test("serve --store etcd works without the build machine's node_modules (etcd3's .proto files are embedded)", async () => {
  const etcd = await startTestEtcd();
  const [port] = await freePorts(1);
  // A private mount namespace hides etcd3's proto directory from the binary only.
  const hide = `mount -t tmpfs none ${join(ROOT, "node_modules/etcd3/proto")} && exec "$@"`;
  const serve = [
    BIN,
    "serve",
    "--listen",
    `127.0.0.1:${port}`,
    "--store",
    "etcd",
    "--etcd-endpoints",
    etcd.endpoint,
  ];
  const proc = Bun.spawn(["unshare", "-m", "sh", "-c", hide, "sh", ...serve], {
    stdout: "ignore",
    stderr: "pipe",
  });
  try {
    const url = `http://127.0.0.1:${port}`;
    let ready = false;
    for (let i = 0; i < 100 && !ready && proc.exitCode === null; i++) {
      ready = await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (!ready) await Bun.sleep(100);
    }
    if (!ready) throw new Error(`not ready: ${await new Response(proc.stderr).text()}`);
    const put = await fetch(`${url}/v1/policies/in-etcd`, {
      method: "PUT",
      headers: { "content-type": "application/yaml" },
      body: policyYaml("in-etcd"),
    });
    expect(put.status).toBe(201);
  } finally {
    proc.kill();
    await proc.exited;
    await etcd.stop();
  }
}, 30_000);

test("serve validates policies in a worker inside the binary: /healthz and polls answer while a regex bomb is refused; the console needs no files", async () => {
  const [port] = await freePorts(1);
  // A private mount namespace hides the sources: the worker must come from the binary itself.
  const hide = `mount -t tmpfs none ${join(ROOT, "src")} && exec "$@"`;
  const proc = Bun.spawn(
    [
      "unshare",
      "-m",
      "sh",
      "-c",
      hide,
      "sh",
      BIN,
      "serve",
      "--listen",
      `127.0.0.1:${port}`,
      "--log-level",
      "warn",
    ],
    { stdout: "ignore", stderr: "pipe", cwd: tempDir() },
  );
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitUntilReady(url, proc);
    expect(await answersWhileRefusingBomb(url, "bin")).toEqual([
      "/healthz 200",
      "/v1/config 200",
      "bomb 400",
    ]);
    // The web console is inlined in the binary too.
    const script = await fetch(`${url}/ui/console.js`);
    expect([script.status, (await script.text()).includes("/v1/config/stream")]).toEqual([200, true]);
  } finally {
    proc.kill();
    await proc.exited;
  }
}, 30_000);

async function waitUntilReady(url: string, proc: Subprocess<"ignore", "ignore", "pipe">): Promise<void> {
  for (let i = 0; i < 100 && proc.exitCode === null; i++) {
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await Bun.sleep(100);
  }
  throw new Error(`not ready: ${await new Response(proc.stderr).text()}`);
}
