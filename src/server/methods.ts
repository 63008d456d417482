import type { Hono } from "hono";

/** The order methods are listed in an `Allow` header. */
const METHOD_ORDER = ["GET", "HEAD", "POST", "PUT", "DELETE"];

/**
 * The methods `app` serves for `path`, in `Allow` header order, or an empty list for a path it does
 * not know. HEAD comes with GET (Hono answers it with the GET handler). Middleware (method ALL) is
 * not a route. Route patterns are literal segments and `:param`s, as this app's are.
 */
export function allowedMethods(app: Hono, path: string): string[] {
  const methods = new Set<string>();
  for (const route of app.routes) {
    if (route.method === "ALL" || !routePattern(route.path).test(path)) continue;
    methods.add(route.method);
    if (route.method === "GET") methods.add("HEAD");
  }
  return METHOD_ORDER.filter((method) => methods.has(method));
}

function routePattern(path: string): RegExp {
  const segments = path.replace(/(.)\/$/, "$1").split("/");
  const source = segments
    .map((segment) => (segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${source}/?$`);
}
