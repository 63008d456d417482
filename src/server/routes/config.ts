import { type Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import {
  ANONYMOUS_PROXY,
  type Distributor,
  type Held,
  type ProxyIdentity,
  type SubscriberId,
  type SubscriberRegistry,
} from "../../distributor/index.ts";
import { SUBSCRIBER_QUERY } from "../../ruleset/format.ts";
import { HfiError } from "../../store/index.ts";
import { holdOpen } from "../connection.ts";

const DEFAULT_WAIT_SECONDS = 25;
const MAX_WAIT_SECONDS = 60;
/** Extra idle time granted to a held long-poll beyond its wait, for the answer to be written. */
const WAIT_GRACE_SECONDS = 10;
/** Longest `node`, `worker`, `cluster`, `service`, `namespace`, label key and label value recorded; longer ones are cut. */
const MAX_ID_LENGTH = 256;
/** Most labels read from a poll; the rest are ignored. */
const MAX_LABELS = 64;
/** Longest rule-set identity read; ours are 16 hex digits, longer ones are cut (and match nothing). */
const MAX_RULESET_ID_LENGTH = 64;
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are what it replaces
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g;

export interface ConfigRouteOptions {
  distributor: Distributor;
  /** Silence after which an SSE stream gets a `: ping` comment. */
  heartbeatMs: number;
  /** Where long-polls that name their `node` (and `worker`) are recorded. */
  subscribers: SubscriberRegistry;
}

/** `/v1/config`: the RuleSet, by long-poll (the filter) and by SSE (everything else). */
export function configRoutes({ distributor, heartbeatMs, subscribers }: ConfigRouteOptions): Hono {
  const app = new Hono();

  app.get("/", async (c) => {
    const after = readCount(c, "after");
    const ruleSetId = readRuleSetId(c);
    const waitSeconds = Math.min(readCount(c, "wait") ?? DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS);
    const subscriber = readSubscriber(c);
    const identity = readIdentity(c);
    holdOpen(c, waitSeconds + WAIT_GRACE_SECONDS);
    const answered = subscriber
      ? subscribers.polled(subscriber, identity, { revision: after, id: ruleSetId }, waitSeconds)
      : () => {};
    const held: Held | undefined =
      ruleSetId !== undefined ? { id: ruleSetId } : after !== undefined ? { revision: after } : undefined;
    let snapshot: Awaited<ReturnType<Distributor["waitForChange"]>>;
    try {
      snapshot = await distributor.waitForChange(held, waitSeconds * 1000, c.req.raw.signal, identity);
    } finally {
      answered();
    }
    // "Nothing new" is a result, not an error: the client holds what is served now.
    if (!snapshot) return c.body(null, 304, { ETag: etag(distributor.current(identity).id) });
    return c.body(snapshot.json, 200, { "Content-Type": "application/json", ETag: etag(snapshot.id) });
  });

  app.get("/stream", (c) => {
    // A reconnecting EventSource sends the last id it saw; it gets the config only if that changed.
    const lastEventId = c.req.header("last-event-id") ?? "";
    holdOpen(c, 0);
    return streamSSE(c, async (stream) => {
      const gone = new AbortController();
      stream.onAbort(() => gone.abort());
      c.req.raw.signal.addEventListener("abort", () => gone.abort(), { once: true });
      // An identity, or a revision from a server before identities.
      let sent: Held | undefined = /^\d+$/.test(lastEventId)
        ? { revision: Number(lastEventId) }
        : lastEventId
          ? { id: lastEventId }
          : undefined;
      while (!gone.signal.aborted) {
        const snapshot = await distributor.waitForChange(sent, heartbeatMs, gone.signal);
        if (gone.signal.aborted) break;
        if (snapshot) {
          await stream.writeSSE({ event: "config", id: snapshot.id, data: snapshot.json });
          sent = { id: snapshot.id };
        } else {
          await stream.write(": ping\n\n");
        }
      }
    });
  });

  return app;
}

/**
 * `node` and `worker` of a filter's poll (SUBSCRIBER_QUERY); undefined for other clients. Never a
 * reason to refuse a poll: config must reach a proxy whatever its node id looks like, so values are
 * cut to 256 characters and control characters shown as "?"; a poll without `node` is not recorded.
 */
function readSubscriber(c: Context): SubscriberId | undefined {
  const node = readId(c, SUBSCRIBER_QUERY.node);
  if (!node) return undefined;
  return { node, worker: readId(c, SUBSCRIBER_QUERY.worker) ?? "" };
}

function readId(c: Context, name: string): string | undefined {
  const value = c.req.query(name);
  return value === undefined ? undefined : bounded(value);
}

function bounded(value: string): string {
  return value.slice(0, MAX_ID_LENGTH).replace(CONTROL_CHARACTERS, "?");
}

/**
 * Who the poll says it is (SUBSCRIBER_QUERY `cluster`, `service`, `namespace`, `labels=K=V,K=V`),
 * which decides the rule set it is served. Untrusted and never a reason to refuse a poll: values are
 * cut like `node`, at most 64 labels are read, an item without `=` is ignored. A label that breaks
 * Kubernetes' rules is kept as sent; no selector can name it, so it matches nothing.
 */
function readIdentity(c: Context): ProxyIdentity {
  const labels: Record<string, string> = {};
  const items = c.req.query(SUBSCRIBER_QUERY.labels)?.split(",") ?? [];
  for (const item of items.slice(0, MAX_LABELS)) {
    const equals = item.indexOf("=");
    if (equals > 0) labels[bounded(item.slice(0, equals))] = bounded(item.slice(equals + 1));
  }
  return {
    cluster: readId(c, SUBSCRIBER_QUERY.cluster) ?? ANONYMOUS_PROXY.cluster,
    service: readId(c, SUBSCRIBER_QUERY.service) ?? ANONYMOUS_PROXY.service,
    namespace: readId(c, SUBSCRIBER_QUERY.namespace) ?? ANONYMOUS_PROXY.namespace,
    labels,
  };
}

/**
 * A weak ETag: rule sets with one identity may differ in `revision`, so their bytes may differ, but
 * they mean the same to a filter.
 */
function etag(id: string): string {
  return `W/"${id}"`;
}

/**
 * `id`: the identity of the rule set the caller holds, as an ETag gave it (`W/` and quotes optional).
 * Never refused: an identity this server does not serve just gets the current rule set at once.
 */
function readRuleSetId(c: Context): string | undefined {
  const id = c.req
    .query(SUBSCRIBER_QUERY.ruleSetId)
    ?.replace(/^W\//, "")
    .replace(/^"(.*)"$/, "$1")
    .slice(0, MAX_RULESET_ID_LENGTH);
  // An empty one says nothing: the poll is judged by `after`, as if it had none.
  return id || undefined;
}

/** An optional non-negative integer query parameter. */
function readCount(c: Context, name: string): number | undefined {
  const raw = c.req.query(name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value)) {
    throw new HfiError("InvalidInput", `query parameter ${name} must be a non-negative integer`, [
      { path: name, message: "must be a non-negative integer" },
    ]);
  }
  return value;
}
