/** Requests through Envoy, and waiting for a change to show in them. */

export interface Sent {
  status: number;
  fault: string | null;
  body: string;
  /** When the request was sent (performance.now()). */
  at: number;
  ms: number;
}

/** One request on a fresh connection, so requests spread over Envoy's workers (each has its own rules). */
export async function send(
  envoyUrl: string,
  path: string,
  method = "GET",
  headers: Record<string, string> = {},
): Promise<Sent> {
  const at = performance.now();
  const res = await fetch(`${envoyUrl}${path}`, { method, headers: { connection: "close", ...headers } });
  const body = await res.text();
  return { status: res.status, fault: res.headers.get("x-hfi-fault"), body, at, ms: performance.now() - at };
}

/** Waits until `times` results of `probe` in a row satisfy `ok`; fails after `limitMs`. */
export async function expectSoon<T>(
  probe: () => Promise<T>,
  ok: (result: T) => boolean,
  times = 10,
  limitMs = 5_000,
): Promise<T> {
  const deadline = performance.now() + limitMs;
  let streak = 0;
  let last: T | undefined;
  while (performance.now() < deadline) {
    last = await probe();
    streak = ok(last) ? streak + 1 : 0;
    if (streak >= times) return last;
    if (streak === 0) await Bun.sleep(20);
  }
  throw new Error(`no streak of ${times} within ${limitMs} ms; last: ${JSON.stringify(last)}`);
}
