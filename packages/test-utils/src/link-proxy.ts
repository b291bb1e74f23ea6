/**
 * A TCP relay on loopback that a test can cut and heal, to partition processes that talk over TCP
 * without root or network namespaces. One proxy carries one direction of a link (the connections one
 * process opens to another), so cutting some proxies and not others gives one-way partitions.
 *
 * A cut link behaves like a network that drops packets, not like a closed port: connections stay
 * open but nothing passes, and new connections are accepted and then hear nothing. Peers notice only
 * through their own timeouts and keepalives, as they would on a real partition. Healing closes the
 * connections that lived through the cut (so that peers reconnect) and relays again.
 */
import net from 'node:net';

/** A running link proxy. */
export interface LinkProxy {
  /** Port on 127.0.0.1 to dial instead of the target. */
  readonly port: number;
  /** Whether the link is cut. */
  readonly isCut: boolean;
  /** Stop relaying: bytes in both directions are dropped, new connections go nowhere. */
  cut(): void;
  /** Relay again; connections opened or held during the cut are closed. */
  heal(): void;
  /** Connections accepted so far (for tests of the proxy itself). */
  readonly accepted: number;
  /** Close the listener and every connection. */
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket | undefined;
  /** Whether this pair saw a cut (it is closed on heal). */
  stale: boolean;
}

/** Start a proxy on 127.0.0.1 (a free port) that relays to `targetHost:targetPort`. */
export async function startLinkProxy(targetHost: string, targetPort: number): Promise<LinkProxy> {
  const pairs = new Set<Pair>();
  let isCut = false;
  let accepted = 0;

  const drop = (p: Pair): void => {
    pairs.delete(p);
    p.client.destroy();
    p.upstream?.destroy();
  };

  const server = net.createServer((client) => {
    accepted++;
    const p: Pair = { client, upstream: undefined, stale: isCut };
    pairs.add(p);
    client.on('error', () => drop(p));
    client.on('close', () => drop(p));
    // Bytes read while cut are discarded; the socket is kept reading so that the sender's writes
    // go somewhere (as into a black hole), rather than back-pressuring it.
    client.on('data', (b: Buffer) => {
      if (isCut || p.stale || !p.upstream) return;
      p.upstream.write(b);
    });
    if (isCut) return;
    const up = net.connect(targetPort, targetHost);
    p.upstream = up;
    up.on('error', () => drop(p));
    up.on('close', () => drop(p));
    up.on('data', (b: Buffer) => {
      if (isCut || p.stale) return;
      client.write(b);
    });
    // Hold the client's bytes until the upstream connection is up.
    client.pause();
    up.on('connect', () => client.resume());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    get isCut() {
      return isCut;
    },
    get accepted() {
      return accepted;
    },
    cut() {
      isCut = true;
      for (const p of pairs) p.stale = true;
    },
    heal() {
      isCut = false;
      for (const p of [...pairs]) if (p.stale) drop(p);
    },
    async close() {
      for (const p of [...pairs]) drop(p);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
