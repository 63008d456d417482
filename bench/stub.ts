/**
 * A tiny stand-in for the control plane's `GET /v1/config?after=REV&wait=S`, so a benchmark controls
 * exactly which RuleSet each filter instance gets: the RuleSet is chosen by the poll's `:authority`
 * (the plugin configuration's `authority`), so one stub serves a different RuleSet to every listener.
 * It records every poll, which tells when every subscriber of an authority has taken a revision.
 */
import type { Server } from "bun";
import { RULESET_FORMAT, type Rule } from "../src/ruleset/format.ts";

interface Entry {
  revision: number;
  json: string;
  /** Settles when a newer revision replaces this one. */
  changed: Promise<void>;
  replace: () => void;
}

function entry(revision: number, json: string): Entry {
  let replace = () => {};
  const changed = new Promise<void>((resolve) => {
    replace = resolve;
  });
  return { revision, json, changed, replace };
}

/** A poll as it arrived (held polls are recorded before they are answered). */
export interface Poll {
  authority: string;
  after: number | null;
  atMs: number;
}

export class RuleSetStub {
  readonly polls: Poll[] = [];
  readonly #entries = new Map<string, Entry>();
  readonly #server: Server<undefined>;
  #revision = 0;

  constructor() {
    this.#server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      // Long-polls are held for up to `wait` seconds; Bun's idle timeout would cut them.
      idleTimeout: 0,
      fetch: (req) => this.#handle(req),
    });
  }

  get port(): number {
    return this.#server.port ?? 0;
  }

  /** Serves `rules` to pollers with `authority`, as a new revision (global across authorities). */
  set(authority: string, rules: Rule[]): number {
    const revision = ++this.#revision;
    const json = JSON.stringify({ format: RULESET_FORMAT, revision, rules });
    const previous = this.#entries.get(authority);
    this.#entries.set(authority, entry(revision, json));
    previous?.replace();
    return revision;
  }

  /** How many polls of `authority` asked for what comes after `revision`: subscribers that took it. */
  caughtUp(authority: string, revision: number): number {
    return this.polls.filter((p) => p.authority === authority && p.after !== null && p.after >= revision)
      .length;
  }

  stop(): void {
    this.#server.stop(true);
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname !== "/v1/config") return new Response("not found", { status: 404 });
    const authority = req.headers.get("host") ?? "";
    const afterText = url.searchParams.get("after");
    const after = afterText === null ? null : Number(afterText);
    const wait = Math.min(Number(url.searchParams.get("wait") ?? "25"), 60);
    this.polls.push({ authority, after, atMs: performance.now() });
    let current = this.#entries.get(authority);
    if (!current) {
      return new Response(`no RuleSet for authority ${authority}`, { status: 404 });
    }
    if (after !== null && after >= current.revision) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const changed = await Promise.race([
        current.changed.then(() => true),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), wait * 1000);
          req.signal.addEventListener("abort", () => resolve(false), { once: true });
        }),
      ]).finally(() => clearTimeout(timer));
      if (changed !== true || req.signal.aborted) {
        return new Response(null, { status: 304 });
      }
      current = this.#entries.get(authority) ?? current;
    }
    return new Response(current.json, { headers: { "content-type": "application/json" } });
  }
}

/**
 * `count` rules that never match `GET /api/items` without an `x-bench-user` header. Nine in ten match
 * on method and a path prefix (`GET /svc-N/`): the path comparison rejects them. Every tenth matches
 * a header only (`x-bench-user: user-N`), so the filter also reads the request's header map once per
 * request, as it does for any rule set with a header condition. Aborts at 100%, like a typical
 * fault policy.
 */
export function nonMatchingRules(count: number): Rule[] {
  const rules: Rule[] = [];
  for (let i = 0; i < count; i++) {
    const name = `bench-${String(i).padStart(5, "0")}`;
    const match: Rule["match"] =
      i % 10 === 9
        ? { headers: [{ name: "x-bench-user", match: { type: "exact", value: `user-${i}` } }] }
        : { method: "GET", path: { type: "prefix", value: `/svc-${i}/` }, headers: [] };
    rules.push({
      name,
      priority: 0,
      match,
      fault: { percentageMillionths: 1_000_000, abort: { httpStatus: 503, body: "" } },
    });
  }
  return rules;
}

/** One rule that faults every request: an abort, a delay, or both. */
export function faultAllRule(fault: { abortStatus?: number; delayMs?: number }): Rule {
  return {
    name: "bench-fault-all",
    priority: 0,
    match: { path: { type: "prefix", value: "/" }, headers: [] },
    fault: {
      percentageMillionths: 1_000_000,
      ...(fault.delayMs !== undefined && { delay: { fixedDelayMs: fault.delayMs } }),
      ...(fault.abortStatus !== undefined && { abort: { httpStatus: fault.abortStatus, body: "" } }),
    },
  };
}
