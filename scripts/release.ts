/**
 * `npm run release`: the standalone `hfi` for every supported platform in dist/release/, with
 * SHA256SUMS, then a smoke test of the one this machine can run (`version`, and `build-filter` in an
 * empty directory with no network, compared byte for byte with dist/hfi-filter.wasm).
 *
 * Cross-compiling needs Bun's runtime for each target; `bun build --compile --target=…` fetches it
 * (the `@oven/bun-<os>-<arch>` npm packages) once and caches it. A target that cannot be built is
 * reported and the others still are; the script then exits 1.
 *
 * Usage: bun scripts/release.ts [--targets linux-x64,linux-arm64,darwin-arm64]
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { $ } from "bun";
import { compileHfi } from "./compile-hfi.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const OUT_DIR = join(ROOT, "dist/release");
const FILTER_WASM = join(ROOT, "dist/hfi-filter.wasm");
const TARGETS = ["linux-x64", "linux-arm64", "darwin-arm64"] as const;

const { values } = parseArgs({ options: { targets: { type: "string", default: TARGETS.join(",") } } });
const wanted = (values.targets ?? "").split(",").filter(Boolean);
$.cwd(ROOT);

// The reference for the smoke test, and a check that the filter compiles at all.
await $`bun scripts/build-filter.ts`.quiet();
const commit = (await $`git rev-parse --short HEAD`.nothrow().quiet()).stdout.toString().trim() || "unknown";

await rm(OUT_DIR, { recursive: true, force: true });
await mkdir(OUT_DIR, { recursive: true });
const built: string[] = [];
const failed: string[] = [];
for (const target of wanted) {
  const name = `hfi-${target}`;
  try {
    await compileHfi({
      outfile: join(OUT_DIR, name),
      commit,
      target: `bun-${target}` as Bun.Build.CompileTarget,
    });
    built.push(name);
    console.log(`built ${name} (${mib(Bun.file(join(OUT_DIR, name)).size)})`);
  } catch (error) {
    failed.push(name);
    console.error(`could not build ${name}: ${(error as Error).message}`);
  }
}

const sums = await Promise.all(
  built.map(
    async (name) =>
      `${createHash("sha256")
        .update(await readFile(join(OUT_DIR, name)))
        .digest("hex")}  ${name}`,
  ),
);
await writeFile(join(OUT_DIR, "SHA256SUMS"), `${sums.join("\n")}\n`);
console.log(`wrote dist/release/SHA256SUMS (${built.length} binaries)`);

const host = `${process.platform}-${process.arch}`;
const smoked = built.includes(`hfi-${host}`) ? await smokeTest(join(OUT_DIR, `hfi-${host}`)) : false;
if (!smoked) console.error(`no smoke test: hfi-${host} was not built`);
if (failed.length > 0 || !smoked) process.exit(1);

/**
 * Runs the binary from an empty directory with a bare environment (no PATH to Bun or node_modules),
 * in a network namespace of its own when `unshare -n` is allowed, as a user's machine offline would.
 */
async function smokeTest(binary: string): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), "hfi-smoke-"));
  try {
    const offline = (await $`unshare -n true`.nothrow().quiet()).exitCode === 0;
    const run = (args: string[]) => {
      const command = offline ? ["unshare", "-n", binary, ...args] : [binary, ...args];
      return Bun.spawnSync(command, { cwd: dir, env: { HOME: dir, PATH: "/usr/bin:/bin" }, stderr: "pipe" });
    };
    const version = run(["version"]);
    const versionText = version.stdout.toString();
    if (version.exitCode !== 0 || !versionText.includes(`commit: ${commit}`)) {
      console.error(`smoke test: version failed:\n${versionText}${version.stderr.toString()}`);
      return false;
    }
    const build = run(["build-filter", "-o", "filter.wasm"]);
    const produced = await readFile(join(dir, "filter.wasm")).catch(() => undefined);
    const reference = await readFile(FILTER_WASM);
    if (build.exitCode !== 0 || !produced?.equals(reference)) {
      console.error(
        `smoke test: build-filter failed or differs from dist/hfi-filter.wasm:\n${build.stderr.toString()}`,
      );
      return false;
    }
    const where = offline ? "no network (unshare -n)" : "network available";
    console.log(`smoke test of ${binary.slice(ROOT.length)} in an empty directory, ${where}:`);
    console.log(`  ${versionText.trim().split("\n").join("\n  ")}`);
    console.log(`  build-filter: ${produced.length} bytes, identical to dist/hfi-filter.wasm`);
    return true;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
