/** Free TCP ports from the OS, for tests that must never use fixed ports. */
import { createServer } from 'node:net';

/**
 * Ask the OS for a free TCP port on loopback: listen on `host:0`, read the port, close.
 * There is an unavoidable window before the caller binds it; callers that spawn servers retry on
 * "address in use" (see `startEtcd`).
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host, port: 0, exclusive: true }, () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('freePort: listener has no TCP address'));
        return;
      }
      const { port } = addr;
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}
