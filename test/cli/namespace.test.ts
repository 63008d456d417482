/**
 * `hfi policy … -n/--namespace` and `-A/--all-namespaces` on a control plane of one namespace (the
 * memory store's `default`); across several namespaces on a real API server: test/kubernetes/.
 */
import { afterAll, beforeAll, beforeEach, expect, test } from "bun:test";
import type { RunningServer } from "../../src/server/index.ts";
import { hfi } from "../support/cli.ts";
import { startControlPlane } from "../support/control-plane.ts";
import { policyYaml } from "../support/policies.ts";

let server: RunningServer;
let env: Record<string, string>;
beforeAll(async () => {
  server = await startControlPlane();
  env = { HFI_CONTROL_PLANE_ADDR: server.url };
});
afterAll(() => server.stop());
beforeEach(async () => {
  await hfi(["policy", "delete", "--all"], { env });
});

const inNamespace = (name: string, namespace: string) =>
  policyYaml(name).replace(`name: ${name}\n`, `name: ${name}\n  namespace: ${namespace}\n`);

test("-n default is the namespace every policy is in; -A adds a NAMESPACE column", async () => {
  expect(
    (await hfi(["policy", "apply", "-n", "default", "-f", "-"], { env, stdin: policyYaml("a") })).code,
  ).toBe(0);
  expect((await hfi(["policy", "apply", "-f", "-"], { env, stdin: inNamespace("b", "default") })).code).toBe(
    0,
  );
  const named = await hfi(["policy", "get", "b", "--namespace", "default", "-o", "json"], { env });
  expect(JSON.parse(named.stdout).metadata.namespace).toBe("default");
  const all = await hfi(["policy", "get", "-A"], { env });
  expect(all.stdout.split("\n").map((line) => line.split(/ +/).slice(0, 2).join(" "))).toEqual([
    "NAMESPACE NAME",
    "default a",
    "default b",
    "",
  ]);
  const wide = await hfi(["policy", "get", "--all-namespaces", "-o", "wide"], { env });
  expect(wide.stdout).toStartWith("NAMESPACE   NAME   PRIORITY");
  expect((await hfi(["policy", "delete", "--all", "-A"], { env })).stdout).toBe(
    "faultinjectionpolicy.hfi.dev/a deleted\nfaultinjectionpolicy.hfi.dev/b deleted\n",
  );
  expect(await hfi(["policy", "get", "-n", "default"], { env })).toEqual({
    code: 0,
    stdout: "",
    stderr: "No resources found in default namespace.\n",
  });
});

test("a namespace the control plane does not hold is refused by the server, naming it", async () => {
  for (const args of [
    ["policy", "get", "-n", "shop"],
    ["policy", "get", "a", "-n", "shop"],
    ["policy", "delete", "a", "-n", "shop"],
  ]) {
    const run = await hfi(args, { env });
    expect([args.join(" "), run.code]).toEqual([args.join(" "), 1]);
    // A list says so in the message; a named policy's refusal lists the field under its name.
    expect(run.stderr).toMatch(
      /^Error from server \(InvalidInput\): [\s\S]*(namespace "shop" is not served here|\n {2}namespace: must be "default")/,
    );
  }
  const apply = await hfi(["policy", "apply", "-f", "-"], { env, stdin: inNamespace("a", "shop") });
  expect(apply.code).toBe(1);
  expect(apply.stderr).toContain(
    '\n  namespace: must be "default": this control plane serves that namespace only',
  );
  expect((await hfi(["policy", "get", "-A", "-o", "json"], { env })).stdout).toContain('"items": []');
});

test("kubectl's rules: a document's namespace must be -n's, and -A never goes with a name", async () => {
  expect(
    await hfi(["policy", "apply", "-n", "default", "-f", "-"], { env, stdin: inNamespace("a", "shop") }),
  ).toEqual({
    code: 1,
    stdout: "",
    stderr:
      'error: the namespace from the provided object "shop" does not match the namespace "default". You must pass \'--namespace=shop\' to perform this operation.\n',
  });
  for (const args of [
    ["policy", "get", "a", "-A"],
    ["policy", "delete", "a", "-A"],
  ]) {
    expect(await hfi(args, { env })).toEqual({
      code: 1,
      stdout: "",
      stderr: "error: a resource cannot be retrieved by name across all namespaces\n",
    });
  }
  expect((await hfi(["policy", "get", "-A", "-o", "json"], { env })).stdout).toContain('"items": []');
});
