/**
 * The node agent on its own (ChainFire + the agent, no k8shost): image pulls through an OCI index with
 * digests verified and whiteouts applied, OCI image-layout import, and adoption — a container keeps
 * running across an agent restart and is found again, not restarted nor orphaned.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { K8S_KEYS } from '@photoncloud/k8shost-api';
import type { PodSpec, PodStatus } from '@photoncloud/k8shost-api';
import { createLogger } from '@photoncloud/log';
import { bytes, text } from '@photoncloud/store';
import type { Store } from '@photoncloud/store';
import { run, tempDir, waitFor } from '@photoncloud/test-utils';
import type { TempDir } from '@photoncloud/test-utils';
import { openChainFire } from '../../chainfire/src/engine.js';
import { ImagePullError, ImageStore } from '../src/pods/images.js';
import { removeBridge } from '../src/pods/network.js';
import { removeNftTable } from '../src/pods/service-proxy.js';
import { startNodeAgent } from '../src/server.js';
import type { NodeAgent } from '../src/server.js';
import { buildBusyboxImage, registryWithImages, writeOciLayout } from './oci-fixture.js';
import type { TestRegistry } from './oci-fixture.js';

let reg: TestRegistry;
let dir: TempDir;

describe('node agent', () => {
  before(async () => {
    reg = await registryWithImages();
    dir = await tempDir('node-agent-test-');
  });
  after(async () => {
    await reg?.close();
    await dir?.cleanup();
  });

  test('pull through an OCI index: digests verified, whiteouts and opaque dirs applied, cached', async () => {
    const images = new ImageStore(join(dir.path, 'images'), reg.host);
    const img = await images.prepare('busybox-http:1');
    assert.match(img.digest, /^sha256:[0-9a-f]{64}$/);
    assert.ok(existsSync(join(img.rootfs, 'bin/busybox')));
    assert.equal(existsSync(join(img.rootfs, 'etc/removed.txt')), false, 'whiteout applied');
    assert.equal(existsSync(join(img.rootfs, 'etc/.wh.removed.txt')), false, 'whiteout marker not extracted');
    assert.equal(existsSync(join(img.rootfs, 'opq/old')), false, 'opaque dir cleared');
    assert.equal(readFileSync(join(img.rootfs, 'opq/new'), 'utf8'), 'from layer 2\n');
    assert.deepEqual(img.config.Cmd, ['httpd', '-f', '-p', '80', '-h', '/www']);
    // Docker v2 manifest (no index) too.
    const nginx = await images.prepare('nginx:1.21');
    assert.ok(existsSync(join(nginx.rootfs, 'usr/sbin/nginx')));
    // Cached: the same tag prepares from disk (IfNotPresent), to the same shared rootfs.
    const again = await images.prepare('busybox-http:1');
    assert.equal(again.digest, img.digest);
    assert.equal(again.rootfs, img.rootfs);
    // An unreachable registry is a pull error, not a crash.
    const offline = new ImageStore(join(dir.path, 'images'), '127.0.0.1:1');
    await assert.rejects(offline.prepare('other:1'), ImagePullError);
    await assert.rejects(images.prepare('missing:1'), /not found/);
    await assert.rejects(images.prepare('Bad Ref'), /invalid image reference/);
  });

  test('a corrupted blob is refused (digest verification)', async () => {
    // docker-registry verifies digests on upload, so it cannot serve tampered bytes; an OCI archive can
    // carry them, and the import refuses it.
    const work = await tempDir('oci-tamper-');
    try {
      const img = await buildBusyboxImage(join(work.path, 'b'), true);
      const tar = join(work.path, 'image.tar');
      await writeOciLayout(join(work.path, 'l'), img, tar, true);
      const images = new ImageStore(join(work.path, 'images'), reg.host);
      await assert.rejects(images.importOciArchive(tar, 'tampered:1'), /digest mismatch/);
    } finally {
      await work.cleanup();
    }
  });

  test('a registry serving bytes that do not match their digest is refused', async () => {
    const layer = new TextEncoder().encode('not the layer you are looking for');
    const goodDigest = `sha256:${createHash('sha256').update('the real layer').digest('hex')}`;
    const config = new TextEncoder().encode('{"config":{}}');
    const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: goodDigest, size: layer.length },
      ],
    });
    const server = createServer((req, res) => {
      const u = req.url ?? '';
      if (u.endsWith('/manifests/1')) {
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(manifest);
      } else if (u.endsWith(`/blobs/${configDigest}`)) res.writeHead(200).end(config);
      else if (u.endsWith(`/blobs/${goodDigest}`)) res.writeHead(200).end(layer);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as AddressInfo).port;
      const images = new ImageStore(join(dir.path, 'evil-images'), `127.0.0.1:${port}`);
      await assert.rejects(images.prepare('evil:1'), /digest mismatch/);
      // Nothing unverified was kept in the cache.
      assert.equal(existsSync(join(dir.path, 'evil-images', 'blobs', 'sha256', goodDigest.slice(7))), false);
    } finally {
      server.close();
    }
  });

  test('import an OCI image-layout tarball, then prepare it offline', async () => {
    const work = await tempDir('oci-import-');
    try {
      const img = await buildBusyboxImage(join(work.path, 'b'), true);
      const tar = join(work.path, 'image.tar');
      await writeOciLayout(join(work.path, 'l'), img, tar);
      const images = new ImageStore(join(work.path, 'images'), '127.0.0.1:1');
      const digest = await images.importOciArchive(tar, 'imported/busybox:7');
      const prepared = await images.prepare('imported/busybox:7');
      assert.equal(prepared.digest, digest);
      assert.ok(existsSync(join(prepared.rootfs, 'bin/busybox')));
    } finally {
      await work.cleanup();
    }
  });

  describe('adoption across an agent restart', () => {
    let store: Store;
    let agent: NodeAgent | null = null;
    const tag = randomBytes(3).toString('hex');
    const bridge = `pca${tag}`;
    const table = `pca_${tag}`;
    const serviceCidr = '10.208.0.0/16';
    const agentDir = () => join(dir.path, 'agent');
    const start = () =>
      startNodeAgent({
        store,
        dataDir: agentDir(),
        auth: { mode: 'local' },
        logger: createLogger({ service: 'node-agent', level: 'silent' }),
        nodeName: `adopt-${tag}`,
        clusterCidr: '10.207.0.0/16',
        leaseTtlSeconds: 3,
        pods: {
          registry: reg.host,
          bridge,
          nftTable: table,
          serviceCidr,
          restartBaseMs: 200,
          pollMs: 200,
          terminationGraceMs: 500,
        },
      });
    before(async () => {
      store = await openChainFire({ dataDir: join(dir.path, 'chainfire') });
    });
    after(async () => {
      await agent?.close();
      const root = join(agentDir(), 'pods', 'runc');
      const list = await run('/usr/sbin/runc', ['--root', root, 'list', '-q']);
      for (const id of list.stdout.split('\n').filter((x) => x !== '')) {
        await run('/usr/sbin/runc', ['--root', root, 'delete', '--force', id]);
      }
      await removeNftTable(table);
      await removeBridge(bridge, serviceCidr);
      await store?.close();
    });

    async function status(ns: string, name: string): Promise<PodStatus | null> {
      const r = await store.range({ key: bytes(K8S_KEYS.podStatus(ns, name)) });
      const kv = r.kvs[0];
      return kv === undefined ? null : (JSON.parse(text(kv.value)) as PodStatus);
    }

    test('a running container is found again, not restarted; deleting the pod cleans up', async () => {
      agent = await start();
      const spec: PodSpec = {
        uid: randomBytes(8).toString('hex'),
        name: 'sleeper',
        namespace: 'default',
        image: 'busybox-http:1',
        command: ['/bin/sh', '-c', 'echo up; exec sleep 600'],
        args: [],
        env: [],
        working_dir: null,
        labels: {},
        resources: { requests: {}, limits: {} },
        restart_policy: 'Always',
        created_at: new Date().toISOString(),
      };
      await store.put({ key: bytes(K8S_KEYS.pod('default', 'sleeper')), value: bytes(JSON.stringify(spec)) });
      await store.put({ key: bytes(K8S_KEYS.binding('default', 'sleeper')), value: bytes(agent.nodeName) });
      const st = await waitFor(
        async () =>
          (await status('default', 'sleeper'))?.phase === 'Running' ? status('default', 'sleeper') : null,
        {
          timeoutMs: 30_000,
          intervalMs: 100,
          what: 'Running',
        },
      );
      assert.ok(st?.pod_ip);
      const root = join(agentDir(), 'pods', 'runc');
      const stateOf = async () =>
        JSON.parse((await run('/usr/sbin/runc', ['--root', root, 'state', `pc-${spec.uid}`])).stdout) as {
          pid: number;
          status: string;
        };
      const before1 = await stateOf();
      assert.equal(before1.status, 'running');

      await agent.close();
      agent = null;
      // The workload outlives the agent.
      assert.equal((await stateOf()).status, 'running');
      agent = await start();
      // Give the new agent several passes; the container must be the same process, not restarted.
      await new Promise((r) => setTimeout(r, 1500));
      const after1 = await stateOf();
      assert.equal(after1.pid, before1.pid);
      const st2 = await status('default', 'sleeper');
      assert.equal(st2?.phase, 'Running');
      assert.equal(st2?.restart_count, 0);
      assert.equal(st2?.pod_ip, st.pod_ip);

      await store.deleteRange({ key: bytes(K8S_KEYS.pod('default', 'sleeper')) });
      await store.deleteRange({ key: bytes(K8S_KEYS.binding('default', 'sleeper')) });
      const podDir = join(agentDir(), 'pods', 'pods', spec.uid);
      await waitFor(() => !existsSync(podDir), { timeoutMs: 15_000, intervalMs: 100, what: 'pod removed' });
      assert.equal((await run('/usr/sbin/runc', ['--root', root, 'list', '-q'])).stdout.trim(), '');
      assert.equal(await status('default', 'sleeper'), null);
      const ips = await store.range({
        key: bytes(K8S_KEYS.podIps(agent.nodeName)),
        rangeEnd: bytes(`${K8S_KEYS.podIps(agent.nodeName)}\xff`),
      });
      assert.equal(ips.kvs.length, 0, 'pod IP released');
      // The agent's own endpoints: health and metrics.
      const h = await fetch(`${agent.url}/health`);
      assert.equal(h.status, 200);
      const m = await fetch(`${agent.url}/metrics`);
      assert.equal(m.status, 200);
    });

    test('POST /api/v1/images/import: an OCI tarball lands in the node cache; bad archives are 400', async () => {
      agent ??= await start();
      const work = await tempDir('oci-rest-');
      try {
        const img = await buildBusyboxImage(join(work.path, 'b'), true);
        const tar = join(work.path, 'image.tar');
        await writeOciLayout(join(work.path, 'l'), img, tar);
        const upload = (name: string, body: Uint8Array | string, type = 'application/x-tar') =>
          fetch(`${agent!.url}/api/v1/images/import?name=${encodeURIComponent(name)}`, {
            method: 'POST',
            headers: { 'content-type': type },
            body,
          });
        const r = await upload('imported/rest:1', readFileSync(tar));
        const b = (await r.json()) as { data: { name: string; digest: string } };
        assert.equal(r.status, 200, JSON.stringify(b));
        assert.equal(b.data.name, 'imported/rest:1');
        assert.match(b.data.digest, /^sha256:[0-9a-f]{64}$/);
        // In the node's cache under the agent's default registry (short names resolve against it): prepared
        // from disk, the registry does not hold this name.
        const offline = new ImageStore(join(agentDir(), 'pods', 'images'), reg.host);
        const prepared = await offline.prepare('imported/rest:1');
        assert.equal(prepared.digest, b.data.digest);
        assert.ok(existsSync(join(prepared.rootfs, 'bin/busybox')));

        const garbage = await upload('imported/rest:2', 'this is not a tarball');
        assert.equal(garbage.status, 400);
        assert.equal(((await garbage.json()) as { error: { code: string } }).error.code, 'VALIDATION_ERROR');
        const tampered = join(work.path, 'tampered.tar');
        await writeOciLayout(join(work.path, 't'), img, tampered, true);
        const bad = await upload('imported/rest:3', readFileSync(tampered));
        assert.equal(bad.status, 400);
        assert.match(((await bad.json()) as { error: { message: string } }).error.message, /digest mismatch/);
        assert.equal((await upload('Bad Name', readFileSync(tar))).status, 400);
        assert.equal((await upload('imported/rest:4', '{}', 'application/json')).status, 415);
        await assert.rejects(offline.prepare('imported/rest:3'), /not found/);
      } finally {
        await work.cleanup();
      }
    });
  });
});
