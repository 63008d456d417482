/**
 * A loopback TCP relay that a test can cut and restore, to disconnect one client from a server
 * that keeps running (and keeps changing) meanwhile — or whose replies it can hold back, so that
 * requests reach the server and are carried out while their answers are late.
 */
import type { Socket } from "bun";

export interface TcpProxy {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** Closes every relayed connection and refuses new ones until `restore()`. */
  cut(): void;
  restore(): void;
  /** Keeps what the server sends from reaching clients until `releaseReplies()`; requests still pass. */
  holdReplies(): void;
  /** Delivers the held replies, in order, and relays replies at once again. */
  releaseReplies(): void;
  stop(): void;
}

interface Side {
  peer?: Socket<Side>;
  /** Bytes not yet accepted by `peer` (its buffer was full, or it was still connecting). */
  pending: Uint8Array[];
  /** The connection to the server, whose data are replies. */
  upstream?: boolean;
}

export function startTcpProxy(target: { hostname: string; port: number }): TcpProxy {
  let open = true;
  const sockets = new Set<Socket<Side>>();
  let holding = false;
  const held: [Socket<Side>, Uint8Array][] = [];

  function relay(from: Socket<Side>, data: Uint8Array): void {
    if (holding && from.data.upstream) {
      held.push([from, data.slice()]);
      return;
    }
    const { peer, pending } = from.data;
    if (!peer || pending.length > 0) pending.push(data.slice());
    else flushTo(peer, pending, data);
  }

  function flushTo(peer: Socket<Side>, pending: Uint8Array[], first?: Uint8Array): void {
    const chunks = first ? [first] : pending.splice(0);
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i] as Uint8Array;
      const written = peer.write(chunk);
      if (written < chunk.length) {
        pending.unshift(chunk.slice(written), ...chunks.slice(i + 1));
        return;
      }
    }
  }

  const handlers = (track: boolean) => ({
    open(socket: Socket<Side>) {
      if (track) sockets.add(socket);
    },
    data(socket: Socket<Side>, data: Uint8Array) {
      relay(socket, data);
    },
    drain(socket: Socket<Side>) {
      // `socket` can take more: flush what its peer sent meanwhile.
      const peer = socket.data.peer;
      if (peer) flushTo(socket, peer.data.pending);
    },
    close(socket: Socket<Side>) {
      sockets.delete(socket);
      socket.data.peer?.end();
    },
    error(socket: Socket<Side>) {
      socket.end();
    },
  });

  const server = Bun.listen<Side>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      ...handlers(true),
      open(client) {
        if (!open) {
          client.end();
          return;
        }
        sockets.add(client);
        client.data = { pending: [] };
        Bun.connect<Side>({
          ...target,
          data: { peer: client, pending: [], upstream: true },
          socket: {
            ...handlers(true),
            open(upstream) {
              sockets.add(upstream);
              client.data.peer = upstream;
              flushTo(upstream, client.data.pending);
            },
          },
        }).catch(() => client.end());
      },
    },
  });

  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    cut() {
      open = false;
      for (const socket of sockets) socket.terminate();
      sockets.clear();
    },
    restore() {
      open = true;
    },
    holdReplies() {
      holding = true;
    },
    releaseReplies() {
      holding = false;
      for (const [from, data] of held.splice(0)) relay(from, data);
    },
    stop() {
      this.cut();
      server.stop(true);
    },
  };
}
