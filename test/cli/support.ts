/**
 * Helpers for the CLI tests: a real control plane (startServer on a free loopback port) and the
 * real CLI in a child process, so every test goes through the public command surface.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, type RunningServer, type ServerOptions, startServer } from "../../src/server/index.ts";

export const ROOT = new URL("../..", import.meta.url).pathname;
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

/** A control plane with a fresh memory store on 127.0.0.1 and a free port; logs silenced. */
export function startControlPlane(options: ServerOptions = {}): Promise<RunningServer> {
  return startServer({ listen: "127.0.0.1:0", logger: createLogger({ level: -1 }), ...options });
}

/** A fresh directory with the given files in it. */
export function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "hfi-cli-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** A policy document as YAML; `spec` is the inside of a flow mapping. */
export function policyYaml(name: string, spec = "fault: { abort: { httpStatus: 503 } }"): string {
  return `apiVersion: hfi.dev/v1alpha1\nkind: FaultInjectionPolicy\nmetadata:\n  name: ${name}\nspec: { ${spec} }\n`;
}

/** A port nothing listens on: bound, then closed again. */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
