import { describe, expect, test } from "bun:test";
import { describeFault, describeMatch } from "./describe-policy.ts";

describe("the FAULTS and MATCHES of a response fault", () => {
  test.each([
    [{ response: { status: 500 }, percentage: 1 }, "response=500@1%"],
    [{ response: { headers: { remove: ["etag"] } } }, "response=headers"],
    [{ response: { status: 503, body: "down" } }, "response=503+body"],
    [{ response: { jsonPatch: { price: 0 } } }, "response=patch"],
    [
      { response: { delay: { uniform: { min: "10ms", max: "50ms" } }, status: 503 } },
      "response=10ms..50ms+503",
    ],
    [
      { delay: { fixedDelay: "2s" }, response: { status: 502, headers: { set: [{}] } } },
      "delay=2s,response=502+headers",
    ],
  ])("%j shows as %s", (fault, shown) => {
    expect(describeFault(fault)).toBe(shown);
  });

  test.each([
    [
      { path: { prefix: "/api/cart" }, response: { status: { codes: [200, 201] } } },
      "/api/cart*,status=200|201",
    ],
    [
      { response: { status: { min: 500, max: 599 }, headers: [{ name: "content-type", prefix: "text/" }] } },
      "status=500..599,response:content-type=text/*",
    ],
  ])("%j shows as %s", (match, shown) => {
    expect(describeMatch(match)).toBe(shown);
  });
});

describe("the MATCHES of a request-body condition", () => {
  test.each([
    [{ method: { exact: "POST" }, body: { contains: '"coupon":"FREE"' } }, 'POST,body*="coupon":"FREE"'],
    [{ body: { regex: "qty=[0-9]{3,}", maxBytes: 1024 } }, "body~qty=[0-9]{3,}"],
    [
      { path: { prefix: "/orders" }, body: { json: { path: "user.tier", exact: "gold" } } },
      "/orders*,body.user.tier=gold",
    ],
    [{ body: { json: { path: "items.0.sku", regex: "SKU-9.*" } } }, "body.items.0.sku~SKU-9.*"],
  ])("%j shows as %s", (match, shown) => {
    expect(describeMatch(match)).toBe(shown);
  });
});
