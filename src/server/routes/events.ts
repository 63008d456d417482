import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { EventLog, HfiEvent } from "../../experiments/index.ts";
import { holdOpen } from "../connection.ts";

/**
 * `GET /v1/events`: experiment, policy and halt events as Server-Sent Events, `id:` increasing. A
 * client reconnecting with `Last-Event-ID` first gets the retained events after it, then live ones.
 */
export function eventRoutes({ events, heartbeatMs }: { events: EventLog; heartbeatMs: number }): Hono {
  const app = new Hono();

  app.get("/", (c) => {
    const last = Number(c.req.header("last-event-id") ?? "0");
    holdOpen(c, 0);
    return streamSSE(c, async (stream) => {
      const queue: HfiEvent[] = [];
      let wake: (() => void) | undefined;
      const unsubscribe = events.subscribe((event) => {
        queue.push(event);
        wake?.();
      });
      let gone = false;
      stream.onAbort(() => {
        gone = true;
        wake?.();
      });
      let sent = Number.isSafeInteger(last) && last > 0 ? last : 0;
      queue.unshift(...events.since(sent));
      try {
        while (!gone) {
          const event = queue.shift();
          if (event) {
            // The backlog and a live event can overlap; ids say which were sent.
            if (event.id <= sent) continue;
            await stream.writeSSE({
              event: event.type,
              id: String(event.id),
              data: JSON.stringify({ ...event.data, at: event.at }),
            });
            sent = event.id;
            continue;
          }
          const timer = new Promise<boolean>((resolve) => {
            const t = setTimeout(() => resolve(true), heartbeatMs);
            wake = () => {
              clearTimeout(t);
              resolve(false);
            };
          });
          if (await timer) await stream.write(": ping\n\n");
          wake = undefined;
        }
      } finally {
        unsubscribe();
      }
    });
  });

  return app;
}
