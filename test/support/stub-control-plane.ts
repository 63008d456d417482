/**
 * A stand-in for `hfi serve`'s `GET /v1/config?after=REV&wait=S` long-poll that serves whatever it
 * is given: rule sets the real control plane would never produce (filter tests), or a different
 * RuleSet to every filter instance, chosen by the poll's `:authority` (the plugin configuration's
 * `authority`; benchmarks with one listener per variant). A poll is held until there is something
 * newer than its `after` for its authority, or its `wait` runs out (then 304), as the real control
 * plane does. Every poll is recorded, which tells when every subscriber has taken a revision.
 * Observation reports (`POST /v1/observations`) are accepted, counted and otherwise ignored.
 */
import { assembleRuleSet } from "../../src/ruleset/compile.ts";
import type { Rule } from "../../src/ruleset/format.ts";

/** A poll as it arrived (held polls are recorded before they are answered). */
export interface Poll {
  /** `path?query` as sent. */
  path: string;
  authority: string;
  after: number | null;
  atMs: number;
}

export interface StubControlPlane {
  url: string;
  port: number;
  readonly polls: Poll[];
  /** Observation reports accepted, by authority. */
  readonly reports: Map<string, number>;
  /**
   * Serves `body` — a RuleSet, or anything at all — as `revision` from now on, with that revision as
   * its ETag, to pollers of `authority` (default: every authority without a body of its own).
   * Held polls are answered at once.
   */
  publish(body: string, revision: number, authority?: string): void;
  /**
   * Serves `rules` as a RuleSet with the next revision (one count across authorities), in the oldest
   * format that carries them, as the control plane does; returns the revision.
   */
  publishRules(rules: Rule[], authority?: string): number;
  /** How many polls (of `authority`, or any) asked for what comes after `revision`: subscribers that took it. */
  caughtUp(revision: number, authority?: string): number;
  stop(): void;
}

/** The key of the body served to every authority without its own. */
const ANY_AUTHORITY = "";

export function startStubControlPlane(): StubControlPlane {
  const polls: Poll[] = [];
  const reports = new Map<string, number>();
  const served = new Map<string, { body: string; revision: number }>();
  let lastRevision = 0;
  let changed = Promise.withResolvers<void>();
  const current = (authority: string) => served.get(authority) ?? served.get(ANY_AUTHORITY);

  /** Resolves on the next publish, after `ms`, or when the poller goes away, whichever is first. */
  async function nextChange(ms: number, signal: AbortSignal): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      changed.promise,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
        signal.addEventListener("abort", () => resolve(), { once: true });
      }),
    ]).finally(() => clearTimeout(timer));
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    // Long-polls are held for up to `wait` seconds; Bun's idle timeout would cut them.
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const authority = req.headers.get("host") ?? "";
      if (url.pathname === "/v1/observations" && req.method === "POST") {
        await req.arrayBuffer();
        reports.set(authority, (reports.get(authority) ?? 0) + 1);
        return Response.json({ counted: true });
      }
      if (url.pathname !== "/v1/config") return new Response("not found", { status: 404 });
      const afterText = url.searchParams.get("after");
      const after = afterText === null ? null : Number(afterText);
      polls.push({ path: url.pathname + url.search, authority, after, atMs: performance.now() });
      const wait = Math.min(Number(url.searchParams.get("wait") ?? 25), 60);
      const deadline = performance.now() + wait * 1000;
      const held = () => {
        const c = current(authority);
        return c === undefined || (after !== null && after >= c.revision);
      };
      while (held()) {
        const left = deadline - performance.now();
        if (left <= 0 || req.signal.aborted) {
          return new Response(null, { status: 304, headers: { etag: `"${afterText ?? ""}"` } });
        }
        await nextChange(left, req.signal);
      }
      const { body, revision } = current(authority) as { body: string; revision: number };
      return new Response(body, { headers: { "content-type": "application/json", etag: `"${revision}"` } });
    },
  });
  const publish = (body: string, revision: number, authority = ANY_AUTHORITY) => {
    served.set(authority, { body, revision });
    lastRevision = Math.max(lastRevision, revision);
    changed.resolve();
    changed = Promise.withResolvers<void>();
  };
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port ?? 0,
    polls,
    reports,
    publish,
    publishRules(rules, authority) {
      const revision = lastRevision + 1;
      publish(JSON.stringify(assembleRuleSet(rules, revision)), revision, authority);
      return revision;
    },
    caughtUp(revision, authority) {
      return polls.filter(
        (p) =>
          (authority === undefined || p.authority === authority) && p.after !== null && p.after >= revision,
      ).length;
    },
    stop() {
      server.stop(true);
    },
  };
}
