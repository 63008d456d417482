import { describe, expect, test } from "bun:test";
import { createTestApp, jsonOf } from "../../../test/support/control-plane.ts";
import { policy } from "../../../test/support/policies.ts";
import type { Experiment } from "../../experiments/index.ts";

type App = Awaited<ReturnType<typeof createTestApp>>["app"];

interface Received {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/** Reads `count` events from `GET /v1/events`, then disconnects. */
async function readEvents(app: App, count: number, lastEventId?: number): Promise<Received[]> {
  const res = await app.request("/v1/events", {
    headers: lastEventId === undefined ? {} : { "last-event-id": String(lastEventId) },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toStartWith("text/event-stream");
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const received: Received[] = [];
  let text = "";
  while (received.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    let end = text.indexOf("\n\n");
    while (end >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const field = (name: string) =>
        block
          .split("\n")
          .find((l) => l.startsWith(`${name}: `))
          ?.slice(name.length + 2);
      if (field("id"))
        received.push({ id: Number(field("id")), event: field("event")!, data: JSON.parse(field("data")!) });
      end = text.indexOf("\n\n");
    }
  }
  await reader.cancel();
  return received.slice(0, count);
}

describe("GET /v1/events", () => {
  test("experiment, policy and halt events in order; a reconnect with Last-Event-ID misses nothing", async () => {
    const { app } = await createTestApp();
    const res = await app.request("/v1/experiments", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        policies: [policy("p", { fault: { abort: { httpStatus: 503 } } })],
        duration: "60s",
      }),
    });
    const experiment = await jsonOf<Experiment>(res);
    const first = await readEvents(app, 3);
    const kinds = (events: Received[]) => events.map((e) => `${e.event} ${e.data.state ?? e.data.type}`);
    // The store's watch is asynchronous: its put may come before or after Running.
    expect(kinds(first).sort()).toEqual(["experiment Pending", "experiment Running", "policy put"]);
    expect(kinds(first).indexOf("experiment Pending")).toBeLessThan(
      kinds(first).indexOf("experiment Running"),
    );
    expect(first.map((e) => e.id)).toEqual([1, 2, 3]);

    // While nobody listens: a halt stops the experiment.
    await app.request("/v1/halt", { method: "POST" });
    const later = await readEvents(app, 3, 3);
    expect(later.map((e) => e.id)).toEqual([4, 5, 6]);
    expect(kinds(later)[0]).toBe("halt halt");
    expect(kinds(later).sort()).toEqual(["experiment Stopped", "halt halt", "policy delete"]);
    expect(later.find((e) => e.event === "experiment")?.data).toMatchObject({
      id: experiment.id,
      reason: "halted",
    });
    // Reconnecting from the start replays the same events, in the same order.
    expect(await readEvents(app, 6, 0)).toEqual([...first, ...later]);
  });
});
