import { describe, expect, test } from "bun:test";
import { createConsola } from "consola";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { errorOf } from "../../test/support/control-plane.ts";
import { HfiError } from "../errors.ts";
import { handleErrors } from "./errors.ts";

/** An app whose one route throws `err`, with the shared error handler. */
function throwing(err: unknown) {
  const logged: unknown[][] = [];
  const logger = createConsola({ level: 4, reporters: [{ log: (entry) => logged.push(entry.args) }] });
  const app = new Hono();
  app.get("/", () => {
    throw err;
  });
  app.onError(handleErrors(logger));
  return { app, logged };
}

describe("handleErrors", () => {
  test.each([
    ["InvalidInput", 400],
    ["Unauthenticated", 401],
    ["Forbidden", 403],
    ["NotFound", 404],
    ["AlreadyExists", 409],
    ["Conflict", 409],
    ["PayloadTooLarge", 413],
    ["UnsupportedMediaType", 415],
    ["Locked", 423],
    ["Internal", 500],
    ["Unavailable", 503],
  ] as const)("HfiError %s is HTTP %d with its body", async (code, status) => {
    const details = code === "InvalidInput" ? [{ path: "spec.fault", message: "bad" }] : [];
    const res = await throwing(new HfiError(code, "what happened", details)).app.request("/");
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toStartWith("application/json");
    expect(await errorOf(res)).toEqual({ code, message: "what happened", details });
  });

  test("a 4xx HTTPException from middleware answers in the same shape, keeping its headers", async () => {
    const challenge = new Response("Unauthorized", {
      status: 401,
      headers: { "WWW-Authenticate": "Bearer" },
    });
    const res = await throwing(new HTTPException(401, { message: "no token", res: challenge })).app.request(
      "/",
    );
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
    expect(await errorOf(res)).toEqual({ code: "Unauthenticated", message: "no token", details: [] });
    const conflict = await throwing(new HTTPException(409)).app.request("/");
    expect((await errorOf(conflict)).code).toBe("Conflict");
  });

  test("a 4xx HTTPException without a code of ours answers as itself", async () => {
    const res = await throwing(new HTTPException(429, { message: "slow down" })).app.request("/");
    expect([res.status, await res.text()]).toEqual([429, "slow down"]);
  });

  test("anything else is a 500 without stack or cause, logged in full", async () => {
    const err = new Error("secret detail");
    const { app, logged } = throwing(err);
    const res = await app.request("/");
    expect(res.status).toBe(500);
    expect(await res.text()).toBe(
      '{"error":{"code":"Internal","message":"internal server error","details":[]}}',
    );
    expect(logged.flat()).toContain(err);
    const fromException = await throwing(new HTTPException(502, { message: "upstream secret" })).app.request(
      "/",
    );
    expect(await fromException.text()).not.toContain("secret");
  });
});
