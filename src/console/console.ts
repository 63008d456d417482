import { createHash } from "node:crypto";
import { Hono } from "hono";
import { readConsoleAssets } from "./read-assets.ts" with { type: "macro" };
import type { ConsoleAssets } from "./read-assets.ts";

const ASSETS: ConsoleAssets = readConsoleAssets();

const CONTENT_TYPES: Record<keyof ConsoleAssets, string> = {
  "index.html": "text/html; charset=utf-8",
  "console.css": "text/css; charset=utf-8",
  "console.js": "text/javascript; charset=utf-8",
};

/**
 * Only this origin's script, style and API; no framing. The page holds no data: it reads the API with
 * the token the user gives it, so it is served without one.
 */
const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

/** `/ui`: the web console (docs/CONSOLE.md), a static page over the API; `/` leads there. */
export function consoleRoutes(): Hono {
  const app = new Hono();
  const served = Object.entries(ASSETS).map(([name, body]) => ({
    path: name === "index.html" ? "/ui" : `/ui/${name}`,
    body,
    contentType: CONTENT_TYPES[name as keyof ConsoleAssets],
    etag: `"${createHash("sha256").update(body).digest("hex").slice(0, 16)}"`,
  }));
  for (const { path, body, contentType, etag } of served) {
    app.get(path, (c) => {
      const headers = {
        ...SECURITY_HEADERS,
        "Content-Type": contentType,
        ETag: etag,
        "Cache-Control": "no-cache",
      };
      if (c.req.header("if-none-match") === etag) return c.body(null, 304, headers);
      return c.body(body, 200, headers);
    });
  }
  app.get("/", (c) => c.redirect("/ui", 302));
  return app;
}
