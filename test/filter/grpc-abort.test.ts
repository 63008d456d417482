/**
 * gRPC aborts (grpc.ruleset.json): the local reply carries the rule's gRPC status for Envoy to turn
 * into a trailers-only response (grpc-message from the body), after a delay too; an HTTP abort
 * carries none; a bad grpcStatus fails the rule set whole.
 */
import { describe, expect, test } from "bun:test";
import { Action } from "../proxy-wasm-host/index.ts";
import { fixture, hostWithRules, pushRules, req } from "../support/filter-host.ts";

const GRPC = fixture("grpc.ruleset.json");
const BASIC = fixture("basic.ruleset.json");
const grpcRequest = (path: string) => req("POST", path, [["content-type", "application/grpc"]]);

describe("gRPC aborts", () => {
  test("the local reply names the gRPC status and carries grpc-message as its body", async () => {
    const host = await hostWithRules(GRPC.text);
    const stream = host.request(grpcRequest("/shop.Inventory/Get"));
    expect(stream.action).toBe(Action.Pause);
    expect(stream.localResponse).toEqual({
      status: 503,
      details: "hfi_fault_abort",
      body: "inventory is down",
      headers: [["x-hfi-fault", "inventory-unavailable"]],
      grpcStatus: 14,
    });
    expect(host.metric("hfi.policy.inventory-unavailable.aborts_total")?.value).toBe(1n);
  });

  test("after a delay, by number, with no message", async () => {
    const host = await hostWithRules(GRPC.text);
    const stream = host.request(grpcRequest("/shop.Quota/Take"));
    expect(stream.localResponse).toBeUndefined();
    host.runFor(10);
    expect([stream.localResponse?.grpcStatus, stream.localResponse?.body]).toEqual([8, ""]);
  });

  test("an HTTP abort sends no gRPC status (−1)", async () => {
    const host = await hostWithRules(BASIC.text);
    expect(host.request(req("POST", "/api/checkout")).localResponse?.grpcStatus).toBe(-1);
  });

  test.each([0, 17, "UNAVAILABLE", 2.5])(
    "a grpcStatus of %j fails the rule set, naming the field",
    async (grpcStatus) => {
      const host = await hostWithRules(GRPC.text);
      const bad = structuredClone(GRPC.ruleSet);
      bad.revision += 1;
      bad.rules[0]!.fault.abort = { httpStatus: 503, body: "", grpcStatus: grpcStatus as number };
      pushRules(host, JSON.stringify(bad));
      expect(
        host.logs.some((l) =>
          l.message.includes("rules[0].fault.abort.grpcStatus: expected an integer 1..16"),
        ),
      ).toBe(true);
      expect(host.metric("hfi.config.revision")?.value).toBe(BigInt(GRPC.ruleSet.revision));
    },
  );
});
