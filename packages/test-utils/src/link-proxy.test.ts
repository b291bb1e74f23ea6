import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startLinkProxy } from './index.js';

/** An echo server on loopback. */
async function echoServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const socks = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    socks.add(s);
    s.on('close', () => socks.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of socks) s.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

/** Connect, send `msg`, and return what comes back within `ms` (empty string for nothing). */
async function roundTrip(sock: net.Socket, msg: string, ms: number): Promise<string> {
  let got = '';
  const onData = (b: Buffer) => (got += b.toString());
  sock.on('data', onData);
  sock.write(msg);
  const deadline = Date.now() + ms;
  while (got.length < msg.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  sock.off('data', onData);
  return got;
}

async function connect(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  await new Promise<void>((r, j) => s.once('connect', () => r()).once('error', j));
  return s;
}

test('link proxy relays, drops everything while cut (connections stay open), and relays again after heal', async () => {
  const echo = await echoServer();
  const proxy = await startLinkProxy('127.0.0.1', echo.port);
  try {
    const a = await connect(proxy.port);
    assert.equal(await roundTrip(a, 'hello', 2000), 'hello');

    proxy.cut();
    assert.equal(proxy.isCut, true);
    assert.equal(await roundTrip(a, 'lost', 200), '', 'nothing passes on a cut link');
    assert.equal(a.destroyed, false, 'a cut drops bytes; it does not close the connection');
    const b = await connect(proxy.port);
    assert.equal(await roundTrip(b, 'new', 200), '', 'a connection opened during the cut hears nothing');

    let aClosed = false;
    a.on('close', () => (aClosed = true));
    proxy.heal();
    const deadline = Date.now() + 2000;
    while (!aClosed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(aClosed, true, 'connections that lived through the cut are closed on heal');
    const c = await connect(proxy.port);
    assert.equal(await roundTrip(c, 'again', 2000), 'again');
    c.destroy();
    b.destroy();
    assert.equal(proxy.accepted, 3);
  } finally {
    await proxy.close();
    await echo.close();
  }
});
