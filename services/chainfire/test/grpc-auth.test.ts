/* eslint-disable @typescript-eslint/no-explicit-any -- gRPC errors are inspected dynamically. */
/**
 * Who may call port 50051. The etcd API: the cluster secret or a platform administrator's JWT (checked
 * against a real JWKS on loopback), or — in auth mode local only — a loopback caller without credentials.
 * The peer service: the cluster secret only, in every mode. A member with a wrong secret cannot join.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { loadEtcdProto } from '@photoncloud/etcd-proto';
import { createLogger } from '@photoncloud/log';
import { EtcdStore, StoreError } from '@photoncloud/store';
import { freePort, run, tempDir } from '@photoncloud/test-utils';
import type { TempDir } from '@photoncloud/test-utils';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { readClusterSecret } from '../src/cluster/cluster-secret.js';
import { startChainFireServer } from '../src/server.js';
import type { ChainFireServer, ChainFireServerConfig } from '../src/server.js';

const logger = createLogger({ service: 'chainfire', level: 'silent' });
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A raw unary call to `path` with `metadata`; resolves to the status code (0 = OK). */
function callStatus(address: string, path: string, body: Buffer, metadata: grpc.Metadata): Promise<number> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<number>((resolve) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      metadata,
      { deadline: Date.now() + 5000 },
      (err) => {
        client.close();
        resolve(err ? err.code : 0);
      },
    );
  });
}

function bearer(token: string): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('authorization', `Bearer ${token}`);
  return m;
}

/** Open a Watch stream (bidi) with `metadata`; resolves to the status it ends with, or 0 once it answers. */
function watchStatus(address: string, metadata: grpc.Metadata): Promise<number> {
  const def = loadEtcdProto().services.Watch.Watch!;
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<number>((resolve) => {
    const call = client.makeBidiStreamRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      metadata,
    );
    const done = (code: number): void => {
      call.cancel();
      client.close();
      resolve(code);
    };
    call.on('data', () => done(0));
    call.on('error', (e: grpc.ServiceError) => done(e.code));
    call.write({ create_request: { key: Buffer.from('w') } });
  });
}

async function storeGet(address: string, token?: string): Promise<unknown> {
  const store = new EtcdStore({
    endpoints: [address],
    dialTimeoutMs: 3000,
    requestTimeoutMs: 5000,
    ...(token === undefined ? {} : { token }),
  });
  try {
    return await store.range({ key: enc('k') });
  } finally {
    await store.close();
  }
}

describe('auth mode required on the gRPC port', () => {
  let dir: TempDir;
  let jwks: Server;
  let server: ChainFireServer;
  let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  let secret: string;
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
      .setSubject('user-1')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);

  before(async () => {
    dir = await tempDir('cf-grpc-auth-');
    const keys = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    privateKey = keys.privateKey;
    const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'EdDSA', use: 'sig' };
    jwks = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', () => r()));
    const cfg: ChainFireServerConfig = {
      dataDir: dir.path,
      host: '127.0.0.1',
      httpPort: 0,
      grpcPort: 0,
      authMode: 'required',
      jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
      logger,
    };
    server = await startChainFireServer(cfg);
    // The first member of a new cluster made a secret and keeps it, readable by its owner only.
    secret = readClusterSecret(dir.path)!;
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
  });
  after(async () => {
    await server?.close();
    await new Promise<void>((r) => jwks?.close(() => r()));
    await dir?.cleanup();
  });

  test('without credentials, even from loopback, every etcd call is refused (unary and streams)', async () => {
    await assert.rejects(storeGet(server.grpcAddress), (e: any) => {
      assert.ok(e instanceof StoreError);
      assert.match(e.message, /authentication required/);
      return true;
    });
    assert.equal(await watchStatus(server.grpcAddress, new grpc.Metadata()), grpc.status.UNAUTHENTICATED);
    const ctl = await run('etcdctl', [`--endpoints=${server.grpcAddress}`, 'get', 'k'], {
      env: { ETCDCTL_API: '3' },
    });
    assert.notEqual(ctl.code, 0);
    assert.match(ctl.stderr, /authentication required/);
  });

  test('a malformed, forged or non-admin token is refused; an admin token and the secret are served', async () => {
    const kv = loadEtcdProto().services.KV.Range!.path;
    const range = Buffer.from([0x0a, 0x01, 0x6b]); // RangeRequest{key: "k"}
    const code = (md: grpc.Metadata) => callStatus(server.grpcAddress, kv, range, md);
    const malformed = new grpc.Metadata();
    malformed.set('authorization', 'Basic abc');
    assert.equal(await code(malformed), grpc.status.UNAUTHENTICATED);
    assert.equal(await code(bearer('not.a.jwt')), grpc.status.UNAUTHENTICATED);
    const forged = await new SignJWT({ admin: true })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
      .setSubject('mallory')
      .setExpirationTime('5m')
      .sign((await generateKeyPair('EdDSA', { crv: 'Ed25519' })).privateKey);
    assert.equal(await code(bearer(forged)), grpc.status.UNAUTHENTICATED);
    assert.equal(await code(bearer(await sign({ roles: ['viewer'] }))), grpc.status.PERMISSION_DENIED);
    assert.equal(
      await watchStatus(server.grpcAddress, bearer(await sign({}))),
      grpc.status.PERMISSION_DENIED,
    );

    const admin = await sign({ roles: ['admin'], admin: true });
    assert.equal(await code(bearer(admin)), 0);
    assert.equal(await watchStatus(server.grpcAddress, bearer(admin)), 0);
    // The platform's services present the cluster secret.
    const store = new EtcdStore({ endpoints: [server.grpcAddress], token: secret });
    try {
      await store.put({ key: enc('k'), value: enc('v') });
      const got = await store.range({ key: enc('k') });
      assert.equal(new TextDecoder().decode(got.kvs[0]!.value), 'v');
    } finally {
      await store.close();
    }
    assert.equal(await watchStatus(server.grpcAddress, bearer(secret)), 0);
  });

  test('the peer service takes the cluster secret only (not even an admin token)', async () => {
    const step = '/photoncloud.chainfire.raft.v1.Raft/Step';
    const forward = '/photoncloud.chainfire.raft.v1.Raft/Forward';
    const admin = await sign({ admin: true });
    for (const path of [step, forward]) {
      assert.equal(await callStatus(server.grpcAddress, path, Buffer.alloc(0), new grpc.Metadata()), 16);
      assert.equal(await callStatus(server.grpcAddress, path, Buffer.alloc(0), bearer(admin)), 16);
      assert.equal(await callStatus(server.grpcAddress, path, Buffer.alloc(0), bearer(`${secret}x`)), 16);
    }
    // With the secret the call reaches the handler (which rejects an empty batch as malformed).
    assert.equal(
      await callStatus(server.grpcAddress, forward, Buffer.alloc(0), bearer(secret)),
      grpc.status.INVALID_ARGUMENT,
    );
  });
});

describe('auth mode local on the gRPC port', () => {
  let dir: TempDir;
  let server: ChainFireServer;
  before(async () => {
    dir = await tempDir('cf-grpc-local-');
    server = await startChainFireServer({
      dataDir: dir.path,
      host: '127.0.0.1',
      httpPort: 0,
      grpcPort: await freePort(),
      authMode: 'local',
      logger,
    });
  });
  after(async () => {
    await server?.close();
    await dir?.cleanup();
  });

  test('a loopback caller without credentials is the local admin; a bad token is not downgraded', async () => {
    await storeGet(server.grpcAddress);
    const kv = loadEtcdProto().services.KV.Range!.path;
    const range = Buffer.from([0x0a, 0x01, 0x6b]);
    // No JWKS is configured: a presented token cannot be verified, so it is refused, not ignored.
    assert.equal(await callStatus(server.grpcAddress, kv, range, bearer('not.a.jwt')), 16);
    // The peer service still wants the secret.
    assert.equal(
      await callStatus(
        server.grpcAddress,
        '/photoncloud.chainfire.raft.v1.Raft/Step',
        Buffer.alloc(0),
        new grpc.Metadata(),
      ),
      16,
    );
  });

  test('joining needs the cluster secret: none is a config error, a wrong one is refused by the cluster', async () => {
    const joiner = await tempDir('cf-grpc-joiner-');
    try {
      const cfg = async (over: Partial<ChainFireServerConfig>): Promise<ChainFireServerConfig> => ({
        dataDir: joiner.path,
        host: '127.0.0.1',
        httpPort: 0,
        grpcPort: await freePort(),
        authMode: 'local',
        logger,
        join: server.grpcAddress,
        ...over,
      });
      const saved = process.env.PHOTONCLOUD_CLUSTER_SECRET;
      delete process.env.PHOTONCLOUD_CLUSTER_SECRET;
      try {
        await assert.rejects(startChainFireServer(await cfg({})), (e: any) => {
          assert.equal(e.name, 'ConfigError');
          assert.match(
            e.message,
            /joining a cluster \(or starting one from an initial member list\) needs its cluster secret/,
          );
          assert.match(e.hint, /PHOTONCLOUD_CLUSTER_SECRET/);
          return true;
        });
      } finally {
        if (saved !== undefined) process.env.PHOTONCLOUD_CLUSTER_SECRET = saved;
      }
      await assert.rejects(startChainFireServer(await cfg({ clusterSecret: 'short' })), /16 to 512/);
      const started = Date.now();
      await assert.rejects(
        startChainFireServer(await cfg({ clusterSecret: 'a-wrong-secret-of-enough-length' })),
        /refused this member: wrong cluster secret/,
      );
      // Refused at once, not retried until the join deadline.
      assert.ok(Date.now() - started < 5000);
      // The cluster did not grow.
      const members = await run('etcdctl', [`--endpoints=${server.grpcAddress}`, 'member', 'list'], {
        env: { ETCDCTL_API: '3' },
      });
      assert.equal(members.stdout.trim().split('\n').length, 1, members.stdout);
    } finally {
      await joiner.cleanup();
    }
  });

  test('a member keeps its secret: restarting it with a different one is a config error', async () => {
    const other = await tempDir('cf-grpc-restart-');
    try {
      const base = {
        dataDir: other.path,
        host: '127.0.0.1',
        httpPort: 0,
        grpcPort: 0,
        authMode: 'local' as const,
        logger,
      };
      const s = await startChainFireServer({ ...base, clusterSecret: 'the-first-secret-0123456789' });
      await s.close();
      await assert.rejects(
        startChainFireServer({ ...base, clusterSecret: 'another-secret-0123456789' }),
        (e: any) => e.name === 'ConfigError' && /differs from the one this member keeps/.test(e.message),
      );
      assert.equal(readClusterSecret(other.path), 'the-first-secret-0123456789');
    } finally {
      await other.cleanup();
    }
  });
});
