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
  const docs = ["a", "b", "c"].map((name) => policyYaml(name)).join("---\n");
  await hfi(["policy", "apply", "-f", "-"], { env, stdin: docs });
});

test("delete NAME… deletes each and says so", async () => {
  expect(await hfi(["policy", "delete", "a", "c"], { env })).toEqual({
    code: 0,
    stdout: "faultinjectionpolicy.hfi.dev/a deleted\nfaultinjectionpolicy.hfi.dev/c deleted\n",
    stderr: "",
  });
  expect((await hfi(["policy", "get"], { env })).stdout).toStartWith("NAME   PRIORITY");
  expect((await hfi(["policy", "get", "-o", "json"], { env })).stdout).toContain('"name": "b"');
});

test("a missing name is reported after the others are deleted, exit 1", async () => {
  expect(await hfi(["policy", "delete", "nope", "b", "gone"], { env })).toEqual({
    code: 1,
    stdout: "faultinjectionpolicy.hfi.dev/b deleted\n",
    stderr:
      'Error from server (NotFound): faultinjectionpolicies.hfi.dev "nope" not found\n' +
      'Error from server (NotFound): faultinjectionpolicies.hfi.dev "gone" not found\n',
  });
});

test("delete --all deletes every policy; then there is nothing left", async () => {
  expect((await hfi(["policy", "delete", "--all"], { env })).stdout).toBe(
    ["a", "b", "c"].map((n) => `faultinjectionpolicy.hfi.dev/${n} deleted\n`).join(""),
  );
  expect(await hfi(["policy", "delete", "--all"], { env })).toEqual({
    code: 0,
    stdout: "",
    stderr: "No resources found\n",
  });
});

test("names and --all exclude each other; one of them is required", async () => {
  expect(await hfi(["policy", "delete", "a", "--all"], { env })).toEqual({
    code: 1,
    stdout: "",
    stderr: "error: give policy names or --all, not both\n",
  });
  expect(await hfi(["policy", "delete"], { env })).toEqual({
    code: 1,
    stdout: "",
    stderr: "error: give the name of a policy to delete, or --all\n",
  });
});
