import type { MiddlewareHandler } from "hono";

/**
 * The config clients currently connected: SSE streams and held long-polls. Counted for metrics,
 * and let go of at shutdown, so that they reconnect (to another replica) at once.
 */
export interface ConfigClients {
  /** For `GET /v1/config`. */
  longPoll: MiddlewareHandler;
  /** For `GET /v1/config/stream`. */
  stream: MiddlewareHandler;
  count(): { sse: number; longPoll: number };
  /** Answers held long-polls with 304 and ends SSE streams, now and from now on. */
  release(): void;
}

export function createConfigClients(): ConfigClients {
  const released = new AbortController();
  const whenReleased = new Promise<void>((resolve) =>
    released.signal.addEventListener("abort", () => resolve(), { once: true }),
  );
  let longPolls = 0;
  const streams = new Set<() => void>();

  return {
    async longPoll(c, next) {
      const after = c.req.query("after");
      // Without `after` the answer is immediate; there is nothing to release.
      if (after === undefined) return next();
      longPolls += 1;
      try {
        const outcome = await Promise.race([
          next().then(() => "answered"),
          whenReleased.then(() => "released"),
        ]);
        if (outcome === "released") {
          // Nothing new for it here: it holds what it held (its `id`, when it sent one).
          const held = c.req.query("id");
          const headers: Record<string, string> = { Connection: "close" };
          if (held) headers.ETag = held.startsWith("W/") ? held : `W/"${held.replace(/^"(.*)"$/, "$1")}"`;
          c.res = new Response(null, { status: 304, headers });
        }
      } finally {
        longPolls -= 1;
      }
    },

    async stream(c, next) {
      await next();
      const body = c.res.body;
      if (!body || c.res.status !== 200) return;
      const reader = body.getReader();
      let ended = false;
      const finish = () => {
        ended = true;
        streams.delete(end);
      };
      let end = () => {};
      const relay = new ReadableStream<Uint8Array>({
        start(controller) {
          end = () => {
            if (ended) return;
            finish();
            controller.close();
            void reader.cancel();
          };
          streams.add(end);
          if (released.signal.aborted) end();
        },
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) end();
          else if (!ended) controller.enqueue(value);
        },
        cancel() {
          finish();
          return reader.cancel();
        },
      });
      c.res = new Response(relay, c.res);
    },

    count: () => ({ sse: streams.size, longPoll: longPolls }),

    release() {
      released.abort();
      for (const end of [...streams]) end();
    },
  };
}
