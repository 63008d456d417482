/**
 * Simulated proxy workers for the CLI tests: each long-polls `GET /v1/config` with `node` and
 * `worker` as the filter does, and acknowledges every revision it is sent on its next poll, with
 * the identity (`id=`) its ETag gave.
 */
export interface SimulatedProxy {
  /** The revision this worker has applied; undefined before its first config. */
  revision(): number | undefined;
  stop(): Promise<void>;
}

export interface ProxyOptions {
  node: string;
  worker: string;
  /** How long it takes to "apply" a config before it polls again. Default 0. */
  applyMs?: number;
  /** Never applies anything: polls again and again with `after=0`, as a worker stuck on an old config. */
  stuck?: boolean;
  /** The poll's `wait`, in seconds; short so that stop() is quick. Default 2. */
  waitSeconds?: number;
  /** Who it says it is, as the filter does: `service`, `namespace` and `labels` of its polls. */
  service?: string;
  namespace?: string;
  labels?: Record<string, string>;
}

export function simulateProxy(url: string, options: ProxyOptions): SimulatedProxy {
  const { node, worker, applyMs = 0, stuck = false, waitSeconds = 2 } = options;
  const stopped = new AbortController();
  let after: number | undefined = stuck ? 0 : undefined;
  let id: string | undefined;
  const loop = (async () => {
    while (!stopped.signal.aborted) {
      const query = new URLSearchParams({
        wait: String(waitSeconds),
        node,
        worker,
        ...identityQuery(options),
      });
      if (after !== undefined) query.set("after", String(after));
      if (id !== undefined) query.set("id", id);
      try {
        const res = await fetch(`${url}/v1/config?${query}`, { signal: stopped.signal });
        if (res.status === 200) {
          const { revision } = (await res.json()) as { revision: number };
          await Bun.sleep(applyMs);
          if (!stuck) {
            after = revision;
            id = res.headers.get("etag") ?? undefined;
          }
        } else {
          await res.arrayBuffer();
        }
        if (stuck) await Bun.sleep(50);
      } catch {
        if (!stopped.signal.aborted) await Bun.sleep(50);
      }
    }
  })();
  return {
    revision: () => after,
    async stop() {
      stopped.abort();
      await loop;
    },
  };
}

/** Resolves once every proxy has applied some config. */
export async function proxiesReady(proxies: SimulatedProxy[], timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (proxies.some((p) => p.revision() === undefined)) {
    if (Date.now() > deadline) throw new Error("simulated proxies got no config");
    await Bun.sleep(10);
  }
}

function identityQuery({ service, namespace, labels }: ProxyOptions): Record<string, string> {
  return {
    ...(service !== undefined && { service }),
    ...(namespace !== undefined && { namespace }),
    ...(labels !== undefined && {
      labels: Object.entries(labels)
        .map(([key, value]) => `${key}=${value}`)
        .join(","),
    }),
  };
}
