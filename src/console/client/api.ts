/** The control plane's API as the console uses it: same origin, the tab's token if there is one. */

const TOKEN_KEY = "hfi.token";

export interface FieldIssue {
  path: string;
  message: string;
}

/** An answer in the API's error shape (`{"error":{code,message,details}}`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: FieldIssue[],
  ) {
    super(message);
  }
}

/** Kept for this tab only: sessionStorage, never localStorage or a cookie. */
export const token = {
  get: (): string => sessionStorage.getItem(TOKEN_KEY) ?? "",
  set: (value: string) => sessionStorage.setItem(TOKEN_KEY, value),
  forget: () => sessionStorage.removeItem(TOKEN_KEY),
};

function headers(contentType?: string): Record<string, string> {
  const value = token.get();
  return {
    ...(value && { Authorization: `Bearer ${value}` }),
    ...(contentType && { "Content-Type": contentType }),
  };
}

export async function api<T>(
  method: string,
  path: string,
  body?: { text: string; type: string },
): Promise<T> {
  const res = await fetch(path, { method, headers: headers(body?.type), body: body?.text });
  const text = await res.text();
  if (res.ok) return (text ? JSON.parse(text) : undefined) as T;
  let error: { code?: string; message?: string; details?: FieldIssue[] } = {};
  try {
    error = JSON.parse(text).error ?? {};
  } catch {
    // Not the API's shape (a proxy in between): the status says enough.
  }
  throw new ApiError(
    res.status,
    error.code ?? "Unknown",
    error.message ?? `HTTP ${res.status}`,
    error.details ?? [],
  );
}

export type Access = "writer" | "reader";

/**
 * What the tab's token may do. The API has no call that names a token's role, so ask for a halt with
 * a body it must refuse: the auth check answers first (403 for a reader, 401 without a valid token),
 * and a writer gets the 400, which changes nothing.
 */
export async function probeAccess(): Promise<Access> {
  try {
    await api("POST", "/v1/halt", { text: "[]", type: "application/json" });
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return "reader";
    if (err instanceof ApiError && err.status === 400) return "writer";
    throw err;
  }
  throw new Error("the probe halted the fleet: the server did not refuse an invalid halt request");
}

/**
 * Calls `changed` for every event of `/v1/config/stream` (a policy or the halt changed), reconnecting
 * until `signal` aborts. Read with fetch rather than EventSource, which cannot send the token.
 */
export async function watchConfig(changed: () => void, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const res = await fetch("/v1/config/stream", { headers: headers(), signal });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        const events = buffer.split("\n\n");
        buffer = events.pop() ?? "";
        if (events.some((event) => /^data:/m.test(event))) changed();
      }
    } catch {
      // Dropped or refused: try again shortly, as EventSource would.
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}
