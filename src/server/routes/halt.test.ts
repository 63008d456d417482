import { describe, expect, test } from "bun:test";
import { createTestApp, errorOf, jsonOf, servedAt } from "../../../test/support/control-plane.ts";
import { POLICY_YAML, policyJson } from "../../../test/support/policies.ts";
import type { HaltStatus } from "../../api-types.ts";
import { RULESET_FORMAT_WITHOUT_HOST } from "../../ruleset/format.ts";
import type { StoredPolicy } from "../../store/index.ts";

const post = (body?: string, contentType = "application/json") => ({
  method: "POST",
  ...(body !== undefined && { body, headers: { "content-type": contentType } }),
});

const put = (name: string, httpStatus = 503) => ({
  method: "PUT",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(policyJson(name, httpStatus)),
});

describe("/v1/halt", () => {
  test("GET: not halted at first", async () => {
    const { app } = await createTestApp();
    const res = await app.request("/v1/halt");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ halted: false });
  });

  test("POST halts (201) with reason and by, logs it; GET shows it; the RuleSet carries halted", async () => {
    const { app, distributor, logs } = await createTestApp();
    const res = await app.request(
      "/v1/halt",
      post(JSON.stringify({ reason: "incident 42", by: "alice@laptop" })),
    );
    expect(res.status).toBe(201);
    const halt = await jsonOf<HaltStatus>(res);
    expect(halt).toEqual({
      halted: true,
      reason: "incident 42",
      by: "alice@laptop",
      since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      revision: 1,
    });
    expect(await (await app.request("/v1/halt")).json()).toEqual(halt);
    await servedAt(distributor, 1);
    const config = await (await app.request("/v1/config")).json();
    expect(config).toEqual({ format: RULESET_FORMAT_WITHOUT_HOST, revision: 1, halted: true, rules: [] });
    expect(distributor.current().ruleSet.halted).toBe(true);
    expect(logs.find((l) => l.args[0] === "fleet halted")?.args[1]).toEqual({
      reason: "incident 42",
      by: "alice@laptop",
      revision: 1,
    });
  });

  test("POST with no body halts with an empty reason; a second POST is 200 and keeps the first", async () => {
    const { app } = await createTestApp();
    const first = await jsonOf<HaltStatus>(await app.request("/v1/halt", post()));
    expect(first).toMatchObject({ halted: true, reason: "", revision: 1 });
    const again = await app.request("/v1/halt", post(JSON.stringify({ reason: "other" })));
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(first);
  });

  test("while halted, POST and PUT of policies are 423 Locked naming the halt; GET and DELETE work", async () => {
    const { app } = await createTestApp();
    expect((await app.request("/v1/policies/a", put("a"))).status).toBe(201);
    await app.request("/v1/halt", post(JSON.stringify({ reason: "game day over", by: "bob" })));
    const refusals = [
      await app.request("/v1/policies/a", put("a", 500)),
      await app.request("/v1/policies/a", put("a")),
      await app.request("/v1/policies", {
        method: "POST",
        headers: { "content-type": "application/yaml" },
        body: POLICY_YAML,
      }),
    ];
    for (const res of refusals) {
      expect(res.status).toBe(423);
      const error = await errorOf(res);
      expect(error.code).toBe("Locked");
      expect(error.message).toContain("game day over");
      expect(error.message).toContain("by bob");
      expect(error.message).toContain("hfi resume");
    }
    expect((await app.request("/v1/policies/a")).status).toBe(200);
    expect((await app.request("/v1/policies")).status).toBe(200);
    expect(
      (await jsonOf<StoredPolicy>(await app.request("/v1/policies/a", { method: "DELETE" }))).metadata.name,
    ).toBe("a");
  });

  test("DELETE resumes: 200 with what was lifted and the new revision; again: not halted", async () => {
    const { app, distributor, logs } = await createTestApp();
    const halt = await jsonOf<HaltStatus>(
      await app.request("/v1/halt", post(JSON.stringify({ reason: "r" }))),
    );
    const res = await app.request("/v1/halt", { method: "DELETE" });
    expect(res.status).toBe(200);
    const { halted: _, ...lifted } = halt as HaltStatus & { halted: true };
    expect(await res.json()).toEqual({ halted: false, lifted, revision: 2 });
    await servedAt(distributor, 2);
    expect(distributor.current().ruleSet).toEqual({
      format: RULESET_FORMAT_WITHOUT_HOST,
      revision: 2,
      rules: [],
    });
    expect((await app.request("/v1/policies/a", put("a"))).status).toBe(201);
    expect(logs.some((l) => l.args[0] === "fleet resumed")).toBe(true);
    const again = await app.request("/v1/halt", { method: "DELETE" });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ halted: false });
  });

  test.each([
    ["{", ""],
    ["[]", ""],
    ['{"reason": 5}', "reason"],
    ['{"reason": "x", "until": "later"}', "until"],
    [JSON.stringify({ reason: "x".repeat(1025) }), "reason"],
    [JSON.stringify({ by: "x".repeat(257) }), "by"],
  ])("400 for the body %s", async (body, path) => {
    const { app } = await createTestApp();
    const res = await app.request("/v1/halt", post(body));
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ code: "InvalidInput", details: [{ path }] });
    expect(await (await app.request("/v1/halt")).json()).toEqual({ halted: false });
  });

  test("413 for a body over 8 KiB", async () => {
    const { app } = await createTestApp();
    const res = await app.request("/v1/halt", post(JSON.stringify({ reason: "x".repeat(9000) })));
    expect(res.status).toBe(413);
  });
});
