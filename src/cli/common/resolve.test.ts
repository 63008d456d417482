import { expect, test } from "bun:test";
import { defineCommand } from "citty";
import { resolveCommand, unknownFlags } from "./resolve.ts";

const get = defineCommand({
  meta: { name: "get" },
  args: {
    timeout: { type: "string" },
    output: { type: "enum", alias: "o", options: ["table", "yaml"] },
    all: { type: "boolean" },
  },
});
const policy = defineCommand({
  meta: { name: "policy" },
  args: { timeout: { type: "string" } },
  subCommands: { get },
});
const root = defineCommand({
  meta: { name: "hfi" },
  args: { timeout: { type: "string" } },
  subCommands: { policy },
});

test("the command a line runs, past global flags and their values", async () => {
  const resolved = await resolveCommand(root, ["--timeout", "5s", "policy", "get", "-o", "yaml", "x"]);
  expect(resolved.path).toEqual(["hfi", "policy", "get"]);
  expect(resolved.cmd.meta).toBe(get.meta);
  expect(resolved.rest).toEqual(["-o", "yaml", "x"]);
  expect((await resolveCommand(root, ["policy"])).path).toEqual(["hfi", "policy"]);
  expect(await resolveCommand(root, ["policy", "nope"])).toMatchObject({
    path: ["hfi", "policy"],
    unresolved: "nope",
  });
  expect((await resolveCommand(root, ["policy", "--timeout", "5s"])).unresolved).toBeUndefined();
});

test("flags a command does not declare; values of declared flags are not mistaken for flags", () => {
  const args = get.args as Parameters<typeof unknownFlags>[1];
  expect(
    unknownFlags(["--timeout", "-1", "-o", "yaml", "--all", "--no-all", "-oyaml", "--output=yaml"], args),
  ).toEqual([]);
  expect(unknownFlags(["--frob", "-x", "--help", "-h", "-", "--", "--after-dashes"], args)).toEqual([
    "--frob",
    "-x",
  ]);
});
