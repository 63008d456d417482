import { describe, expect, test } from "bun:test";
import { createTestApp } from "../../test/support/control-plane.ts";
import { parseTokenFile } from "../server/auth.ts";

describe("console", () => {
  test("/ leads to /ui, which loads only this origin's script and style", async () => {
    const { app } = await createTestApp();
    const root = await app.request("/");
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/ui");
    const page = await app.request("/ui");
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script src="/ui/console.js" defer></script>');
    expect(html).not.toMatch(/https?:\/\//);
  });

  test("the script and style are served bundled, with an ETag that answers 304", async () => {
    const { app } = await createTestApp();
    const script = await app.request("/ui/console.js");
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    const text = await script.text();
    // Bundled: no module imports left for the browser to resolve.
    expect(text).not.toMatch(/\bimport\s*[{*"]/);
    expect(text).toContain("/v1/config/stream");
    const etag = script.headers.get("etag") ?? "";
    expect(etag).toMatch(/^"[0-9a-f]{16}"$/);
    const again = await app.request("/ui/console.js", { headers: { "If-None-Match": etag } });
    expect(again.status).toBe(304);
    const style = await app.request("/ui/console.css");
    expect(style.headers.get("content-type")).toBe("text/css; charset=utf-8");
  });

  test("with tokens on, the page loads without one and the API still needs one", async () => {
    const { app } = await createTestApp({ auth: parseTokenFile("reader:r-token\n") });
    expect((await app.request("/ui")).status).toBe(200);
    expect((await app.request("/ui/console.js")).status).toBe(200);
    expect((await app.request("/v1/policies")).status).toBe(401);
  });
});
