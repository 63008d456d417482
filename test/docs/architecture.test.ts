/**
 * docs/ARCHITECTURE.md's tree, one line per module, names every module there is: each entry of src/
 * (tests aside) and each `hfi` command. A module added without its line fails here.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./support/session.ts";

const architecture = readFileSync(join(ROOT, "docs/ARCHITECTURE.md"), "utf8");
const tree = architecture.slice(
  architecture.indexOf("## The tree"),
  architecture.indexOf("## Design principles"),
);
const isModule = (name: string) => !name.endsWith(".test.ts");

test("every entry of src/ has its line", () => {
  const entries = readdirSync(join(ROOT, "src")).filter(isModule);
  expect(entries.length).toBeGreaterThan(5);
  expect(entries.filter((entry) => !tree.includes(`src/${entry}`))).toEqual([]);
});

test("the commands' line names every command", () => {
  const line = tree.split("\n").find((l) => l.startsWith("| `src/cli/commands/`")) ?? "";
  const commands = readdirSync(join(ROOT, "src/cli/commands"), { withFileTypes: true })
    .filter((entry) => entry.isFile() && isModule(entry.name))
    .map((entry) => entry.name.replace(/\.ts$/, ""));
  const policy = readdirSync(join(ROOT, "src/cli/commands/policy"))
    .filter((name) => isModule(name) && name !== "index.ts")
    .map((name) => name.replace(/\.ts$/, ""));
  expect(commands).toContain("halt");
  expect(commands.filter((command) => !line.includes(`\`${command}\``))).toEqual([]);
  expect(line).toContain(`policy/{${policy.sort().join(",")}}`);
});
