/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies and errors are inspected dynamically. */
/**
 * TLS on port 50051: two members with certificates from a test CA (openssl) form a cluster over TLS —
 * the second joins the first, peer URLs are https, writes replicate — and clients reach the etcd API
 * over TLS (etcdctl --cacert, EtcdStore with the CA) while a plaintext client gets nowhere. Bad TLS
 * settings are configuration errors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@photoncloud/log';
import { EtcdStore } from '@photoncloud/store';
import { freePort, makeTestCertificates, run, tempDir, waitFor } from '@photoncloud/test-utils';
import type { TempDir, TestCertificates } from '@photoncloud/test-utils';
import { readFile } from 'node:fs/promises';
import { readClusterSecret } from '../src/cluster/cluster-secret.js';
import { startChainFireServer } from '../src/server.js';
import type { ChainFireServer, ChainFireServerConfig } from '../src/server.js';

const logger = createLogger({ service: 'chainfire', level: 'silent' });
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);

describe('a ChainFire cluster over TLS', () => {
  const dirs: TempDir[] = [];
  const servers: ChainFireServer[] = [];
  let certs: TestCertificates;
  const tlsFiles = () => ({ certFile: certs.certFile, keyFile: certs.keyFile, caFile: certs.caFile });
  const config = async (over: Partial<ChainFireServerConfig> = {}): Promise<ChainFireServerConfig> => {
    const dir = await tempDir('cf-tls-');
    dirs.push(dir);
    return {
      dataDir: dir.path,
      host: '127.0.0.1',
      httpPort: 0,
      grpcPort: await freePort(),
      authMode: 'local',
      logger,
      requestTimeoutMs: 3000,
      tls: tlsFiles(),
      ...over,
    };
  };

  before(async () => {
    const certDir = await tempDir('cf-certs-');
    dirs.push(certDir);
    certs = await makeTestCertificates(certDir.path);
    servers.push(await startChainFireServer(await config()));
    servers.push(
      await startChainFireServer(
        await config({ join: servers[0]!.grpcAddress, clusterSecret: readClusterSecret(dirs[1]!.path)! }),
      ),
    );
  });
  after(async () => {
    for (const s of servers.reverse()) await s.close().catch(() => undefined);
    for (const d of dirs) await d.cleanup();
  });

  test('the second member joined over TLS: both list two members with https peer URLs', async () => {
    for (const s of servers) {
      await waitFor(
        async () => {
          const res = await fetch(`${s.httpUrl}/api/v1/cluster/status`);
          const body = (await res.json()) as any;
          return body.data.members?.length === 2 && body.data.leader_id !== '0' ? body : undefined;
        },
        { timeoutMs: 20_000, what: 'two members with a leader' },
      );
    }
    const ctl = await run(
      'etcdctl',
      [`--endpoints=https://${servers[1]!.grpcAddress}`, `--cacert=${certs.caFile}`, 'member', 'list'],
      { env: { ETCDCTL_API: '3' } },
    );
    assert.equal(ctl.code, 0, ctl.stderr);
    const lines = ctl.stdout.trim().split('\n');
    assert.equal(lines.length, 2, ctl.stdout);
    for (const l of lines) assert.match(l, /https:\/\/127\.0\.0\.1:\d+/);
  });

  test('a write on one member is read on the other; clients need the CA; plaintext gets nowhere', async () => {
    const put = await run(
      'etcdctl',
      [`--endpoints=https://${servers[0]!.grpcAddress}`, `--cacert=${certs.caFile}`, 'put', 'tls-key', 'v1'],
      { env: { ETCDCTL_API: '3' } },
    );
    assert.equal(put.code, 0, put.stderr);
    const store = new EtcdStore({
      endpoints: [servers[1]!.grpcAddress],
      tls: { ca: await readFile(certs.caFile) },
    });
    try {
      const got = await store.range({ key: enc('tls-key') });
      assert.equal(dec(got.kvs[0]?.value), 'v1');
    } finally {
      await store.close();
    }
    // Without the CA the certificate is not trusted; without TLS the server does not answer.
    const untrusted = await run(
      'etcdctl',
      [`--endpoints=https://${servers[0]!.grpcAddress}`, '--dial-timeout=2s', 'get', 'tls-key'],
      {
        env: { ETCDCTL_API: '3' },
      },
    );
    assert.notEqual(untrusted.code, 0);
    assert.throws(
      () => new EtcdStore({ endpoints: [`http://${servers[0]!.grpcAddress}`], tls: {} }),
      /mix http:\/\/ and TLS/,
    );
    const plain = new EtcdStore({
      endpoints: [servers[0]!.grpcAddress],
      dialTimeoutMs: 1500,
      requestTimeoutMs: 2000,
    });
    try {
      await assert.rejects(plain.range({ key: enc('tls-key') }), (e: any) => e.kind === 'unavailable');
    } finally {
      await plain.close();
    }
  });

  test('POST /api/v1/cluster/members gives the new member an https peer URL', async () => {
    const port = await freePort();
    const res = await fetch(`${servers[0]!.httpUrl}/api/v1/cluster/members`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ address: `127.0.0.1:${port}`, is_learner: true }),
    });
    const body = (await res.json()) as any;
    assert.equal(res.status, 201, JSON.stringify(body));
    assert.deepEqual(body.data.peer_urls, [`https://127.0.0.1:${port}`]);
    // Remove the learner again (it never starts).
    const id = BigInt(body.data.member_id as string).toString(16);
    const rm = await run(
      'etcdctl',
      [
        `--endpoints=https://${servers[0]!.grpcAddress}`,
        `--cacert=${certs.caFile}`,
        'member',
        'remove',
        String(id),
      ],
      { env: { ETCDCTL_API: '3' } },
    );
    assert.equal(rm.code, 0, rm.stderr);
  });

  test('a missing or non-PEM TLS file, or half the TLS settings, is a configuration error', async () => {
    await assert.rejects(
      startChainFireServer(await config({ tls: { ...tlsFiles(), keyFile: '/nonexistent/key.pem' } })),
      (e: any) =>
        e.name === 'ConfigError' && /cannot read the TLS key \/nonexistent\/key\.pem/.test(e.message),
    );
    await assert.rejects(
      startChainFireServer(
        await config({ tls: { ...tlsFiles(), caFile: certs.keyFile.replace(/key$/, 'ext') } }),
      ),
      (e: any) => e.name === 'ConfigError' && /is not a PEM file/.test(e.message),
    );
    const saved = process.env.PHOTONCLOUD_CHAINFIRE_TLS_CERT;
    process.env.PHOTONCLOUD_CHAINFIRE_TLS_CERT = certs.certFile;
    try {
      const cfg = await config();
      delete cfg.tls;
      await assert.rejects(
        startChainFireServer(cfg),
        (e: any) => e.name === 'ConfigError' && /certificate, its key and the CA together/.test(e.message),
      );
    } finally {
      if (saved === undefined) delete process.env.PHOTONCLOUD_CHAINFIRE_TLS_CERT;
      else process.env.PHOTONCLOUD_CHAINFIRE_TLS_CERT = saved;
    }
  });
});
