/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies are navigated dynamically in assertions. */
/**
 * `startChainFireServer`: the engine, the REST API and the etcd gRPC API composed into one server, on
 * free loopback ports and a temp data dir. Both APIs see the same data, the data survives a restart,
 * auth modes apply, a busy port fails cleanly (nothing left open), and close() releases everything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { freePort, run, tempDir } from '@photoncloud/test-utils';
import { createLogger } from '@photoncloud/log';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { startChainFireServer } from '../src/server.js';
import { parsePeerDial } from '../src/cluster/peer-transport.js';
import type { ChainFireServerConfig } from '../src/server.js';

const logger = createLogger({ service: 'chainfire', level: 'silent' });

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.json() };
}

async function etcdctl(address: string, ...args: string[]) {
  return run('etcdctl', [`--endpoints=${address}`, ...args], { env: { ETCDCTL_API: '3' } });
}

function config(dataDir: string, over: Partial<ChainFireServerConfig> = {}): ChainFireServerConfig {
  return { dataDir, host: '127.0.0.1', httpPort: 0, grpcPort: 0, authMode: 'local', logger, ...over };
}

async function occupy(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  return { port: (server.address() as AddressInfo).port, server };
}

async function connectable(port: number): Promise<boolean> {
  const { Socket } = await import('node:net');
  return new Promise((resolve) => {
    const s = new Socket();
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.connect(port, '127.0.0.1');
  });
}

test('REST and etcd gRPC serve the same data, which survives a restart', async () => {
  const dir = await tempDir('cf-server-');
  try {
    const s1 = await startChainFireServer(config(dir.path));
    assert.match(s1.httpUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(s1.grpcAddress, /^127\.0\.0\.1:\d+$/);
    try {
      const health = await json(`${s1.httpUrl}/health`);
      assert.equal(health.status, 200);
      assert.equal(health.body.data.status, 'healthy');
      assert.equal(health.body.data.service, 'chainfire');

      const put = await json(`${s1.httpUrl}/api/v1/kv/user:123/put`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ value: '{"name":"alice"}' }),
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const got = await etcdctl(s1.grpcAddress, 'get', 'user:123', '--print-value-only');
      assert.equal(got.code, 0, got.stderr);
      assert.equal(got.stdout, '{"name":"alice"}\n');

      const viaGrpc = await etcdctl(s1.grpcAddress, 'put', 'from-grpc', 'v1');
      assert.equal(viaGrpc.stdout.trim(), 'OK');
      const rest = await json(`${s1.httpUrl}/api/v1/kv/from-grpc`);
      assert.equal(rest.body.data.value, 'v1');

      const status = await json(`${s1.httpUrl}/api/v1/cluster/status`);
      assert.equal(status.status, 200);
      assert.equal(status.body.data.is_leader, true);
      assert.equal(status.body.data.role, 'leader');

      const openapi = await json(`${s1.httpUrl}/api/v1/openapi.json`);
      assert.equal(openapi.status, 200);
      assert.ok(Object.keys(openapi.body.paths).some((p) => p.startsWith('/api/v1/kv')));
    } finally {
      await s1.close();
      await s1.close();
    }
    const httpPort = Number(new URL(s1.httpUrl).port);
    const grpcPort = Number(s1.grpcAddress.split(':')[1]);
    assert.equal(await connectable(httpPort), false, 'HTTP port still open after close');
    assert.equal(await connectable(grpcPort), false, 'gRPC port still open after close');

    // Same data dir, new process lifetime: everything is still there.
    const s2 = await startChainFireServer(config(dir.path));
    try {
      const again = await json(`${s2.httpUrl}/api/v1/kv/user:123`);
      assert.equal(again.status, 200);
      assert.equal(again.body.data.value, '{"name":"alice"}');
      const g = await etcdctl(s2.grpcAddress, 'get', 'from-grpc', '--print-value-only');
      assert.equal(g.stdout, 'v1\n');
    } finally {
      await s2.close();
    }
  } finally {
    await dir.cleanup();
  }
});

test('explicit ports are used as given', async () => {
  const dir = await tempDir('cf-server-');
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  try {
    const s = await startChainFireServer(config(dir.path, { httpPort, grpcPort }));
    try {
      assert.equal(s.httpUrl, `http://127.0.0.1:${httpPort}`);
      assert.equal(s.grpcAddress, `127.0.0.1:${grpcPort}`);
    } finally {
      await s.close();
    }
  } finally {
    await dir.cleanup();
  }
});

test('auth mode required: /health is open, everything else needs a token verified against the JWKS', async () => {
  const dir = await tempDir('cf-server-');
  // IAM's part, played by a real key pair and a real JWKS endpoint on loopback.
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'EdDSA', use: 'sig' };
  const jwks = createHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', () => r()));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
  try {
    await assert.rejects(startChainFireServer(config(dir.path, { authMode: 'required' })), (err: any) => {
      assert.equal(err.name, 'ConfigError');
      assert.match(err.message, /needs a JWKS URL/);
      return true;
    });
    const s = await startChainFireServer(config(dir.path, { authMode: 'required', jwksUrl }));
    try {
      assert.equal((await json(`${s.httpUrl}/health`)).status, 200);
      const denied = await json(`${s.httpUrl}/api/v1/kv/x`);
      assert.equal(denied.status, 401);
      assert.equal(denied.body.success, false);
      assert.equal(denied.body.error.code, 'UNAUTHORIZED');
      const bad = await json(`${s.httpUrl}/api/v1/kv/x`, { headers: { authorization: 'Bearer not.a.jwt' } });
      assert.equal(bad.status, 401);

      const token = await new SignJWT({ roles: ['admin'], admin: true })
        .setProtectedHeader({ alg: 'EdDSA', kid: 'test-key' })
        .setSubject('user-1')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
      const auth = { authorization: `Bearer ${token}` };
      const put = await json(`${s.httpUrl}/api/v1/kv/x`, {
        method: 'PUT',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ value: 'secret' }),
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const got = await json(`${s.httpUrl}/api/v1/kv/x`, { headers: auth });
      assert.equal(got.status, 200);
      assert.equal(got.body.data.value, 'secret');
    } finally {
      await s.close();
    }
  } finally {
    await new Promise<void>((r) => jwks.close(() => r()));
    await dir.cleanup();
  }
});

test('a busy port fails the start cleanly and leaves nothing open', async () => {
  const dir = await tempDir('cf-server-');
  const busy = await occupy();
  try {
    await assert.rejects(startChainFireServer(config(dir.path, { httpPort: busy.port })), (err: any) => {
      assert.match(String(err.code ?? err.message), /EADDRINUSE/);
      return true;
    });
    await assert.rejects(
      startChainFireServer(config(dir.path, { grpcPort: busy.port })),
      /EADDRINUSE|address already in use|No address added/i,
    );
    // The engine was closed on the failed starts: the same data dir opens again.
    const s = await startChainFireServer(config(dir.path));
    try {
      assert.equal((await json(`${s.httpUrl}/health`)).status, 200);
    } finally {
      await s.close();
    }
  } finally {
    await new Promise<void>((r) => busy.server.close(() => r()));
    await dir.cleanup();
  }
});

test('peer dial overrides: parsed from advertised=dial pairs; a bad PHOTONCLOUD_CHAINFIRE_PEER_DIAL fails the start with a hint', async () => {
  const map = parsePeerDial(' 10.0.0.2:50051=127.0.0.1:15051 , [fd00::3]:50051=[::1]:15052,');
  assert.deepEqual(
    [...map],
    [
      ['10.0.0.2:50051', '127.0.0.1:15051'],
      ['[fd00::3]:50051', '[::1]:15052'],
    ],
  );
  for (const bad of ['10.0.0.2:50051', '10.0.0.2=127.0.0.1:1', '10.0.0.2:50051=', 'a:1=b:x'])
    assert.throws(() => parsePeerDial(bad), TypeError, bad);

  const dir = await tempDir('cf-server-');
  const saved = process.env.PHOTONCLOUD_CHAINFIRE_PEER_DIAL;
  process.env.PHOTONCLOUD_CHAINFIRE_PEER_DIAL = '10.0.0.2:50051';
  try {
    await assert.rejects(startChainFireServer(config(dir.path)), (err: any) => {
      assert.equal(err.name, 'ConfigError');
      assert.match(err.message, /10\.0\.0\.2:50051/);
      assert.match(err.hint, /advertised=dial/);
      return true;
    });
  } finally {
    if (saved === undefined) delete process.env.PHOTONCLOUD_CHAINFIRE_PEER_DIAL;
    else process.env.PHOTONCLOUD_CHAINFIRE_PEER_DIAL = saved;
    await dir.cleanup();
  }
});
