/** A listening HTTP server, whichever runtime runs it. */
export interface Listener {
  port: number;
  /** Stops listening; `closeActive` also ends open requests (long-polls, SSE streams). */
  stop(closeActive?: boolean): Promise<void>;
}

export interface ListenOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** A fetch handler such as Hono's `app.fetch`; its second argument is the runtime's server or bindings. */
  fetch: (request: Request, env: never) => Response | Promise<Response>;
}
