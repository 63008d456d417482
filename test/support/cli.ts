/**
 * The real CLI in a child process, so a test goes through the public command surface: from source
 * under the Bun running the tests, or any other build (`command`).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./paths.ts";

/** The Bun running the tests runs the CLI too, whatever PATH says. */
const SOURCE_CLI = [process.execPath, join(ROOT, "src/cli/main.ts")];

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Default: the source CLI under Bun. */
  command?: string[];
  env?: Record<string, string | undefined>;
  /** False: the child sees only `env`, nothing of this process's environment. */
  inheritEnv?: boolean;
  stdin?: string;
  cwd?: string;
}

/** Runs `hfi ARGS…` to completion. NO_COLOR is unset and stdout/stderr are pipes, as in CI. */
export async function hfi(args: string[], options: RunOptions = {}): Promise<Run> {
  const env: Record<string, string | undefined> = {
    ...(options.inheritEnv === false ? {} : process.env),
    NO_COLOR: undefined,
    FORCE_COLOR: undefined,
  };
  for (const key of ["HFI_CONTROL_PLANE_ADDR", "HFI_TOKEN"]) delete env[key];
  Object.assign(env, options.env);
  const proc = Bun.spawn([...(options.command ?? SOURCE_CLI), ...args], {
    cwd: options.cwd ?? ROOT,
    env,
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

/** A fresh directory with the given files in it. */
export function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "hfi-cli-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
