import { expect, test } from "bun:test";
import { listen } from "./listen.ts";
import { listenNode } from "./listen-node.ts";
import type { Listener, ListenOptions } from "./listener.ts";

/** `/slow` answers after 300 ms; `/stream` never ends by itself. */
const fetch: ListenOptions["fetch"] = async (request) => {
  const { pathname } = new URL(request.url);
  if (pathname === "/slow") {
    await Bun.sleep(300);
    return new Response("slow");
  }
  if (pathname === "/stream") {
    return new Response(new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode("open\n")) }));
  }
  return new Response("ok");
};

for (const [runtime, start] of [
  ["Bun.serve", listen],
  ["node:http (@hono/node-server)", listenNode],
] as const) {
  test(`${runtime}: serves on a picked port, finishes held requests, stop(true) cuts open streams`, async () => {
    const server: Listener = await start({ hostname: "127.0.0.1", port: 0, fetch });
    const base = `http://127.0.0.1:${server.port}`;
    expect(server.port).toBeGreaterThan(0);
    expect(await (await globalThis.fetch(`${base}/`)).text()).toBe("ok");
    expect(await (await globalThis.fetch(`${base}/slow`)).text()).toBe("slow");
    const stream = await globalThis.fetch(`${base}/stream`);
    const reader = stream.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("open\n");
    await server.stop(true);
    await expect(reader.read()).rejects.toThrow();
    await expect(globalThis.fetch(`${base}/`)).rejects.toThrow();
  });

  test(`${runtime}: an address in use is an error`, async () => {
    const first = await start({ hostname: "127.0.0.1", port: 0, fetch });
    try {
      await expect(start({ hostname: "127.0.0.1", port: first.port, fetch })).rejects.toThrow();
    } finally {
      await first.stop(true);
    }
  });
}
