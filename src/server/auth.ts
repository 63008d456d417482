import { createHash, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { MiddlewareHandler } from "hono";
import { HfiError } from "../errors.ts";

export type Role = "reader" | "writer";

/** The tokens the API accepts; the tokens themselves never leave this object. */
export interface AuthTokens {
  /** The role of `token`, compared in constant time against every known token. */
  roleOf(token: string): Role | undefined;
}

const ROLES: ReadonlySet<string> = new Set<Role>(["reader", "writer"]);
const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** Filters carry a reader token (docs/FILTER.md) and report what they observed with it. */
const READER_POSTS = new Set(["/v1/observations"]);

/**
 * The token file: one `<role>:<token>` per line, role `writer` (may also read) or `reader`;
 * blank lines and lines starting with `#` are ignored. Several tokens per role allow rotation.
 */
export function parseTokenFile(text: string, source = "token file"): AuthTokens {
  const entries: { digest: Buffer; role: Role }[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const colon = line.indexOf(":");
    const role = line.slice(0, colon);
    const token = line.slice(colon + 1);
    if (colon < 0 || !ROLES.has(role) || token === "" || /\s/.test(token)) {
      // The line is not echoed: it may hold a token.
      throw new HfiError(
        "InvalidInput",
        `${source}, line ${index + 1}: expected "writer:<token>" or "reader:<token>"`,
      );
    }
    entries.push({ digest: digest(token), role: role as Role });
  });
  if (entries.length === 0) throw new HfiError("InvalidInput", `${source} holds no tokens`);
  return {
    roleOf(token) {
      const presented = digest(token);
      let found: Role | undefined;
      // Every entry is compared, so the time taken says nothing about which one matched.
      for (const entry of entries) {
        if (timingSafeEqual(entry.digest, presented) && found !== "writer") found = entry.role;
      }
      return found;
    },
  };
}

export async function loadTokenFile(path: string): Promise<AuthTokens> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new HfiError("InvalidInput", `cannot read auth token file ${path}: ${(err as Error).message}`);
  }
  return parseTokenFile(text, path);
}

/**
 * `Authorization: Bearer <token>` on every request it guards: reads — and a filter's observation
 * report — need a reader or writer token, anything else a writer token. 401 without a valid token, 403 for a reader token on a write.
 */
export function requireToken(tokens: AuthTokens): MiddlewareHandler {
  return async (c, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
    const role = match?.[1] ? tokens.roleOf(match[1]) : undefined;
    if (!role) {
      c.header("WWW-Authenticate", 'Bearer realm="hfi"');
      throw new HfiError(
        "Unauthenticated",
        match ? "the bearer token is not valid" : "this server requires an Authorization: Bearer token",
      );
    }
    if (role !== "writer" && !readerMayCall(c.req.method, c.req.path)) {
      throw new HfiError("Forbidden", "a reader token cannot change policies; use a writer token");
    }
    await next();
  };
}

/** Whether a reader token may make this call: any read, and a filter's observation report. */
export function readerMayCall(method: string, path: string): boolean {
  return READ_METHODS.has(method) || (method === "POST" && READER_POSTS.has(path));
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}
