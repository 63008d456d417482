/**
 * `npm run release`: the standalone `hfi` for every supported platform in dist/release/, the filter
 * (dist/hfi-filter.wasm) beside them and SHA256SUMS over all of it, then a smoke test of the binary
 * this machine can run (`version`, and `build-filter` in an empty directory with no network, compared
 * byte for byte with dist/hfi-filter.wasm).
 *
 * Cross-compiling needs Bun's runtime for each target; `bun build --compile --target=…` fetches it
 * (the `@oven/bun-<os>-<arch>` npm packages) once and caches it. A target that cannot be built is
 * reported and the others still are; the script then exits 1.
 *
 * Usage: bun scripts/release.ts [--targets linux-x64,linux-arm64,darwin-arm64]
 */
import { createHash } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { $ } from "bun";
import { compileHfi } from "./compile-hfi.ts";

const ROOT = new URL("..", import.meta.url).pathname;
export const OUT_DIR = join(ROOT, "dist/release");
const FILTER_WASM = join(ROOT, "dist/hfi-filter.wasm");
export const TARGETS = ["linux-x64", "linux-arm64", "darwin-arm64"] as const;
/** What a release publishes, all in OUT_DIR: .github/workflows/release.yml uploads exactly these. */
export const RELEASE_FILES = [...TARGETS.map((target) => `hfi-${target}`), "hfi-filter.wasm", "SHA256SUMS"];

if (import.meta.main) {
  const { values } = parseArgs({ options: { targets: { type: "string", default: TARGETS.join(",") } } });
  const ok = await release((values.targets ?? "").split(",").filter(Boolean));
  if (!ok) process.exit(1);
}

/** Builds every wanted target; true when all of them built and the host's binary passed its smoke test. */
async function release(wanted: string[]): Promise<boolean> {
  $.cwd(ROOT);
  // The reference for the smoke test, and a check that the filter compiles at all.
  await $`bun scripts/build-filter.ts`.quiet();
  const commit =
    (await $`git rev-parse --short HEAD`.nothrow().quiet()).stdout.toString().trim() || "unknown";

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
  await copyFile(FILTER_WASM, join(OUT_DIR, "hfi-filter.wasm"));

  const summed = [...built, "hfi-filter.wasm"];
  const sums = await Promise.all(
    summed.map(
      async (name) =>
        `${createHash("sha256")
          .update(await readFile(join(OUT_DIR, name)))
          .digest("hex")}  ${name}`,
    ),
  );
  await writeFile(join(OUT_DIR, "SHA256SUMS"), `${sums.join("\n")}\n`);
  console.log(`wrote dist/release/SHA256SUMS (${built.length} binaries and hfi-filter.wasm)`);

  const hostBinary = `hfi-${process.platform}-${process.arch}`;
  if (!built.includes(hostBinary)) {
    console.error(`no smoke test: ${hostBinary} was not built`);
    return false;
  }
  const smoked = await smokeTest(join(OUT_DIR, hostBinary), commit);
  return smoked && failed.length === 0;
}

/**
 * Runs the binary from an empty directory with a bare environment (no PATH to Bun or node_modules),
 * in a network namespace of its own when `unshare -n` is allowed, as a user's machine offline would.
 */
async function smokeTest(binary: string, commit: string): Promise<boolean> {
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
