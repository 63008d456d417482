import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import type { RunningServer } from "../../src/server/index.ts";
import { hfi, tempDir } from "../support/cli.ts";
import { startControlPlane } from "../support/control-plane.ts";
import { policy, policyYaml } from "../support/policies.ts";

let server: RunningServer;
let env: Record<string, string>;
beforeAll(async () => {
  server = await startControlPlane();
  env = { HFI_CONTROL_PLANE_ADDR: server.url };
});
afterAll(() => server.stop());
afterEach(async () => {
  await hfi(["policy", "delete", "--all"], { env });
});

const names = async () =>
  JSON.parse((await hfi(["policy", "get", "-o", "json"], { env })).stdout).items.map(
    (p: { metadata: { name: string } }) => p.metadata.name,
  );

test("apply creates, leaves unchanged and configures, one line per object", async () => {
  const dir = tempDir({ "p.yaml": `${policyYaml("alpha")}---\n${policyYaml("beta")}` });
  expect(await hfi(["policy", "apply", "-f", `${dir}/p.yaml`], { env })).toEqual({
    code: 0,
    stdout: "faultinjectionpolicy.hfi.dev/alpha created\nfaultinjectionpolicy.hfi.dev/beta created\n",
    stderr: "",
  });
  expect((await hfi(["policy", "apply", "-f", `${dir}/p.yaml`], { env })).stdout).toBe(
    "faultinjectionpolicy.hfi.dev/alpha unchanged\nfaultinjectionpolicy.hfi.dev/beta unchanged\n",
  );
  const changed = tempDir({
    "p.yaml": `${policyYaml("alpha", "priority: 5, fault: { abort: { httpStatus: 503 } }")}---\n${policyYaml("beta")}`,
  });
  expect((await hfi(["policy", "apply", "-f", `${changed}/p.yaml`], { env })).stdout).toBe(
    "faultinjectionpolicy.hfi.dev/alpha configured\nfaultinjectionpolicy.hfi.dev/beta unchanged\n",
  );
  const alpha = JSON.parse((await hfi(["policy", "get", "alpha", "-o", "json"], { env })).stdout);
  expect(alpha.spec.priority).toBe(5);
  expect(alpha.metadata.generation).toBe(2);
});

test("apply -f - reads YAML or JSON from stdin", async () => {
  const yaml = await hfi(["policy", "apply", "-f", "-"], { env, stdin: policyYaml("from-stdin") });
  expect(yaml).toEqual({ code: 0, stdout: "faultinjectionpolicy.hfi.dev/from-stdin created\n", stderr: "" });
  const json = JSON.stringify(policy("json-stdin", { fault: { abort: { httpStatus: 500 } } }));
  expect((await hfi(["policy", "apply", "-f", "-"], { env, stdin: json })).stdout).toBe(
    "faultinjectionpolicy.hfi.dev/json-stdin created\n",
  );
});

test("apply -f DIR takes *.yaml, *.yml and *.json in name order and ignores other files", async () => {
  const dir = tempDir({
    "b.yml": policyYaml("from-yml"),
    "a.json": JSON.stringify(policy("from-json", { fault: { abort: { httpStatus: 500 } } })),
    "c.yaml": `# comment only\n---\n${policyYaml("from-yaml")}---\n`,
    "notes.txt": "not a policy",
  });
  expect(await hfi(["policy", "apply", "-f", dir], { env })).toEqual({
    code: 0,
    stdout: [
      "faultinjectionpolicy.hfi.dev/from-json created",
      "faultinjectionpolicy.hfi.dev/from-yml created",
      "faultinjectionpolicy.hfi.dev/from-yaml created",
      "",
    ].join("\n"),
    stderr: "",
  });
});

test("an invalid document fails the command, names file, document and field, and sends nothing", async () => {
  const dir = tempDir({
    "p.yaml": `${policyYaml("good")}---\n${policyYaml("Bad_Name", "fault: { abort: { httpStatus: 700 }, extra: 1 }")}`,
  });
  const run = await hfi(["policy", "apply", "-f", `${dir}/p.yaml`], { env });
  expect(run.code).toBe(1);
  expect(run.stdout).toBe("");
  expect(run.stderr).toBe(
    [
      `error: error validating "${dir}/p.yaml": 3 problems, nothing was applied`,
      `  ${dir}/p.yaml: document 2 ("Bad_Name"): metadata.name: must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending alphanumeric`,
      `  ${dir}/p.yaml: document 2 ("Bad_Name"): spec.fault.abort.httpStatus: must be at most 599`,
      `  ${dir}/p.yaml: document 2 ("Bad_Name"): spec.fault.extra: unknown field "extra"`,
      "",
    ].join("\n"),
  );
  expect(await names()).toEqual([]);
});

test("malformed YAML is named with its file and document", async () => {
  const run = await hfi(["policy", "apply", "-f", "-"], {
    env,
    stdin: `${policyYaml("ok")}---\nspec: [unclosed\n`,
  });
  expect(run.code).toBe(1);
  expect(run.stderr).toStartWith(
    "error: error validating <stdin>: 1 problem, nothing was applied\n  <stdin>: document 2: malformed document: ",
  );
  expect(await names()).toEqual([]);
});

test("a missing file, no -f, and nothing to apply are errors", async () => {
  expect(await hfi(["policy", "apply", "-f", "/nonexistent/p.yaml"], { env })).toEqual({
    code: 1,
    stdout: "",
    stderr: 'error: the path "/nonexistent/p.yaml" does not exist\n',
  });
  expect(await hfi(["policy", "apply"], { env })).toEqual({
    code: 1,
    stdout: "",
    stderr: "error: must specify -f FILE, a directory, or - for stdin\n",
  });
  expect(await hfi(["policy", "apply", "-f", tempDir({ "x.txt": "" })], { env })).toEqual({
    code: 1,
    stdout: "",
    stderr: "error: no objects passed to apply\n",
  });
});

test("get -o yaml and -o json apply back unchanged, one object or the whole list", async () => {
  await hfi(["policy", "apply", "-f", "-"], { env, stdin: `${policyYaml("one")}---\n${policyYaml("two")}` });
  for (const format of ["yaml", "json"]) {
    const list = await hfi(["policy", "get", "-o", format], { env });
    expect(await hfi(["policy", "apply", "-f", "-"], { env, stdin: list.stdout })).toEqual({
      code: 0,
      stdout: "faultinjectionpolicy.hfi.dev/one unchanged\nfaultinjectionpolicy.hfi.dev/two unchanged\n",
      stderr: "",
    });
    const one = await hfi(["policy", "get", "one", "-o", format], { env });
    expect((await hfi(["policy", "apply", "-f", "-"], { env, stdin: one.stdout })).stdout).toBe(
      "faultinjectionpolicy.hfi.dev/one unchanged\n",
    );
  }
});

test("a stale resourceVersion is a 409 Conflict; the other objects are still applied", async () => {
  await hfi(["policy", "apply", "-f", "-"], { env, stdin: policyYaml("racy") });
  const stale = (await hfi(["policy", "get", "racy", "-o", "yaml"], { env })).stdout;
  await hfi(["policy", "apply", "-f", "-"], {
    env,
    stdin: policyYaml("racy", "priority: 1, fault: { abort: { httpStatus: 503 } }"),
  });
  const run = await hfi(["policy", "apply", "-f", "-"], {
    env,
    stdin: `${stale}---\n${policyYaml("bystander")}`,
  });
  expect(run.code).toBe(1);
  expect(run.stdout).toBe("faultinjectionpolicy.hfi.dev/bystander created\n");
  expect(run.stderr).toMatch(
    /^Error from server \(Conflict\): Operation cannot be fulfilled on faultinjectionpolicies\.hfi\.dev "racy": policy "racy" was changed since resourceVersion (\d+): it is at resourceVersion (?!\1)\d+\n$/,
  );
});
