/**
 * Finds a tool that scripts/setup.sh --test installs with `go install`: on PATH, then in
 * $(go env GOPATH)/bin (where `go install` puts it, often not on PATH). Its absence is an error that
 * says how to install it, never a skip: the checks that use these tools have no other proof.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

const found = new Map<string, string>();

/** The executable `name`, or an Error naming the `go install` that provides it and what fails without it. */
export function findGoTool(name: string, module: string, without: string): string {
  const cached = found.get(name);
  if (cached) return cached;
  const go = Bun.which("go");
  const goPath = go
    ? Bun.spawnSync([go, "env", "GOPATH"], { stderr: "ignore" }).stdout.toString().trim()
    : "";
  const candidates = [
    Bun.which(name),
    goPath && join(goPath, "bin", name),
    join(process.env.HOME ?? "", "go/bin", name),
  ];
  const path = candidates.find((candidate): candidate is string => !!candidate && existsSync(candidate));
  if (!path) {
    throw new Error(
      `${name} not found on PATH or in $(go env GOPATH)/bin: run \`bash scripts/setup.sh --test\` ` +
        `(it runs \`go install ${module}\`); ${without}`,
    );
  }
  found.set(name, path);
  return path;
}
