/**
 * Runs doctest steps the way a reader would: in document order, in one bash session (variables and
 * background jobs carry over from block to block), under `set -euo pipefail`, stdout and stderr
 * together. The session runs in fresh PID, mount and network namespaces (`unshare`), so whatever a
 * block starts in the background dies with the session, and its loopback has every port free, so
 * blocks (and the demo) may use the fixed ports the docs name.
 */
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findMissingLine, type Step } from "./markdown.ts";

export const ROOT = new URL("../../..", import.meta.url).pathname;

export interface SessionOptions {
  /** Added to the environment (PATH is prefixed with a directory holding `hfi` and `envoy`). */
  env: Record<string, string>;
  timeoutMs: number;
}

export interface SessionResult {
  /** One line per failure: where, what, and the step's output. Empty when every step passed. */
  failures: string[];
  /** Steps that ran to the end. */
  passed: number;
  output: string;
}

const MARK = "@@hfi-doctest";

/**
 * The working directory is a scratch directory whose entries link to the repository's top-level
 * entries, so `examples/abort.yaml` and `deploy/envoy/envoy.yaml` resolve while files the blocks
 * write (logs) land in scratch.
 */
export async function runSession(steps: Step[], options: SessionOptions): Promise<SessionResult> {
  const scratch = mkdtempSync(join(tmpdir(), "hfi-doctest-"));
  try {
    for (const entry of readdirSync(ROOT)) {
      if (entry !== ".git") symlinkSync(join(ROOT, entry), join(scratch, entry));
    }
    const bin = join(scratch, ".doctest-bin");
    Bun.spawnSync(["mkdir", bin]);
    symlinkSync(join(ROOT, "dist/hfi"), join(bin, "hfi"));
    symlinkSync(join(ROOT, ".tools/venv/bin/envoy"), join(bin, "envoy"));
    const proc = Bun.spawn(unshareCommand(sessionScript(steps)), {
      cwd: scratch,
      env: { ...process.env, NO_COLOR: "1", ...options.env, PATH: `${bin}:${process.env.PATH}` },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      timeout: options.timeoutMs,
      killSignal: "SIGKILL",
    });
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return judge(steps, stdout + stderr, code, proc.signalCode === null ? null : String(proc.signalCode));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Fails at once when this machine does not allow unprivileged namespaces, rather than skipping. */
export function checkUnshare(): void {
  const probe = Bun.spawnSync(unshareCommand("true"), { stderr: "pipe" });
  if (probe.exitCode !== 0) {
    throw new Error(
      `the doc-test needs util-linux unshare with user, PID, mount and network namespaces: ${probe.stderr}`,
    );
  }
}

function unshareCommand(script: string): string[] {
  const namespaces = [
    "--user",
    "--map-root-user",
    "--pid",
    "--fork",
    "--kill-child",
    "--mount",
    "--mount-proc",
  ];
  // A private /dev/shm: Envoy's hot-restart shared memory, should a block leave it on, meets no other Envoy's.
  const setup = "mount -t tmpfs tmpfs /dev/shm && ip link set lo up";
  return ["unshare", ...namespaces, "--net", "bash", "-c", `${setup}\n${script}`];
}

function sessionScript(steps: Step[]): string {
  const body = steps.map((step, i) => `printf '\\n${MARK} %s@@\\n' ${i}\n${step.text}`).join("\n");
  return `set -euo pipefail\nexec 2>&1\n${body}\nprintf '\\n${MARK} end@@\\n'\n`;
}

function judge(steps: Step[], output: string, code: number, signal: string | null): SessionResult {
  const parts = output.split(new RegExp(`\\n${MARK} (\\d+|end)@@\\n`));
  // parts: [before, index0, output0, index1, output1, …]
  const outputs = new Map<string, string>();
  for (let i = 1; i < parts.length; i += 2) outputs.set(parts[i]!, parts[i + 1] ?? "");
  const failures: string[] = [];
  let passed = 0;
  steps.forEach((step, i) => {
    const own = outputs.get(String(i));
    if (own === undefined) return;
    const finished = outputs.has(String(i + 1)) || (i === steps.length - 1 && outputs.has("end"));
    if (!finished) {
      const why = signal ? `killed by ${signal} (timeout?)` : `exit code ${code}`;
      failures.push(`${step.where}: ${why}\n${indent(step.text, "$ ")}\n${indent(own)}`);
      return;
    }
    const missing = findMissingLine(own, step.expected);
    if (missing !== undefined) {
      failures.push(`${step.where}: output lacks "${missing}" (or has it out of order)\n${indent(own)}`);
      return;
    }
    passed++;
  });
  if (!outputs.has("0")) failures.push(`the session did not start (exit code ${code}):\n${indent(output)}`);
  return { failures, passed, output };
}

function indent(text: string, first = "  "): string {
  return text
    .trimEnd()
    .split("\n")
    .map((line, i) => (i === 0 ? first : "  ") + line)
    .join("\n");
}
