/**
 * A demo system with a planted weakness, served behind Envoy (and so behind hfi's filter):
 * `frontend` answers `/frontend/*` by calling `backend` (`/backend/*`) through the same Envoy — with
 * a fallback when the backend fails, but without a timeout. A backend error is harmless; a backend
 * delay longer than the frontend's callers wait becomes their errors.
 */

/** The demo's HTTP handler; `envoyUrl()` is where the frontend reaches the backend (through Envoy). */
export function demoSystem(envoyUrl: () => string) {
  return async (req: Request): Promise<Response> => {
    const path = new URL(req.url).pathname;
    if (path.startsWith("/backend/"))
      return Response.json({ item: path.slice("/backend/".length), price: 42 });
    if (path.startsWith("/frontend/")) {
      const item = path.slice("/frontend/".length);
      // The weakness: no timeout on this call.
      const backend = await fetch(`${envoyUrl()}/backend/${item}`);
      if (!backend.ok) return Response.json({ item, price: null, fallback: true });
      return Response.json({ ...((await backend.json()) as object), fallback: false });
    }
    return new Response("not found", { status: 404 });
  };
}

/** The frontend's callers: each request given up after `deadlineMs`, as a browser or a gateway would. */
export async function callFrontend(envoyUrl: string, until: number, deadlineMs: number, workers = 4) {
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; Date.now() < until; i++) {
        await fetch(`${envoyUrl}/frontend/item-${w}-${i}`, { signal: AbortSignal.timeout(deadlineMs) })
          .then((res) => res.arrayBuffer())
          .catch(() => undefined);
      }
    }),
  );
}
