/** Loopback ports for what a test or benchmark starts, so runs side by side never collide. */

/**
 * `count` distinct ports the kernel hands out for port 0, all free at this moment (bound together,
 * then closed again): whatever is started on them right after gets them. Nothing listens on them
 * until then, so one also serves as "a port nothing listens on".
 */
export async function freePorts(count: number): Promise<number[]> {
  const listeners = Array.from({ length: count }, () =>
    Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }),
  );
  const ports = listeners.map((l) => l.port);
  for (const l of listeners) l.stop(true);
  return ports;
}

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}

/** `port` when nothing listens on it on loopback now, else any free port; any free port without one. */
export async function preferredOrFreePort(port?: number): Promise<number> {
  if (port === undefined) return freePort();
  try {
    Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true);
    return port;
  } catch {
    return freePort();
  }
}
