/**
 * A whole k8shost cluster on this machine for tests: ChainFire (in-process, temp dir), k8shost on a free
 * port, a node agent (in-process) with its own bridge, nftables table and pod/service CIDRs (so test files
 * running side by side never share network objects), and a docker-registry with the busybox images.
 */
import { randomBytes } from 'node:crypto';
import { createLogger } from '@photoncloud/log';
import type { Store } from '@photoncloud/store';
import { run, tempDir } from '@photoncloud/test-utils';
import type { TempDir } from '@photoncloud/test-utils';
import { openChainFire } from '../../chainfire/src/engine.js';
import { startNodeAgent } from '../../node-agent/src/server.js';
import type { NodeAgent } from '../../node-agent/src/server.js';
import { removeBridge } from '../../node-agent/src/pods/network.js';
import { removeNftTable } from '../../node-agent/src/pods/service-proxy.js';
import { registryWithImages } from '../../node-agent/test/oci-fixture.js';
import type { TestRegistry } from '../../node-agent/test/oci-fixture.js';
import { startK8sHostServer } from '../src/server.js';
import type { K8sHostServer } from '../src/server.js';

/** Per-file network parameters. */
export interface NetParams {
  /** Second octet of the cluster (10.X.0.0/16) and service (10.X+1.0.0/16) CIDRs. */
  octet: number;
}

/** A running cluster. */
export interface Cluster {
  url: string;
  store: Store;
  server: K8sHostServer;
  agent: NodeAgent;
  registry: TestRegistry;
  bridge: string;
  table: string;
  dataDir: string;
  serviceCidr: string;
  /** Stop the agent (node → NotReady); the cluster's close() copes with it being stopped. */
  stopAgent(): Promise<void>;
  close(): Promise<void>;
}

/** Start a cluster. */
export async function startCluster(net: NetParams, opts: { registry?: TestRegistry } = {}): Promise<Cluster> {
  const dir: TempDir = await tempDir('k8shost-test-');
  const store = await openChainFire({ dataDir: `${dir.path}/chainfire` });
  const tag = randomBytes(3).toString('hex');
  const bridge = `pct${tag}`;
  const table = `pct_${tag}`;
  const clusterCidr = `10.${net.octet}.0.0/16`;
  const serviceCidr = `10.${net.octet + 1}.0.0/16`;
  const logger = createLogger({ service: 'k8shost-test', level: 'silent' });
  const registry = opts.registry ?? (await registryWithImages());
  const server = await startK8sHostServer({ store, auth: { mode: 'local' }, logger, serviceCidr });
  const agent = await startNodeAgent({
    store,
    dataDir: `${dir.path}/node-agent`,
    auth: { mode: 'local' },
    logger,
    nodeName: `node-${tag}`,
    clusterCidr,
    leaseTtlSeconds: 3,
    pods: {
      registry: registry.host,
      bridge,
      nftTable: table,
      serviceCidr,
      restartBaseMs: 200,
      pollMs: 200,
      terminationGraceMs: 500,
    },
  });
  let agentStopped = false;
  const stopAgent = async () => {
    if (agentStopped) return;
    agentStopped = true;
    await agent.close();
  };
  return {
    url: server.url,
    store,
    server,
    agent,
    registry,
    bridge,
    table,
    dataDir: dir.path,
    serviceCidr,
    stopAgent,
    close: async () => {
      await stopAgent();
      await server.close();
      // Anything a test left running: kill and remove its containers, mounts and netns.
      const root = `${dir.path}/node-agent/pods/runc`;
      const list = await run('/usr/sbin/runc', ['--root', root, 'list', '-q']);
      for (const id of list.stdout.split('\n').filter((x) => x !== '')) {
        await run('/usr/sbin/runc', ['--root', root, 'delete', '--force', id]);
      }
      const mounts = await run('sh', [
        '-c',
        `grep -o ' ${dir.path}[^ ]*rootfs ' /proc/self/mountinfo || true`,
      ]);
      for (const m of mounts.stdout
        .split('\n')
        .map((s) => s.trim())
        .filter((s) => s !== '')) {
        await run('umount', ['-l', m]);
      }
      const ns = await run('ip', ['netns', 'list']);
      for (const line of ns.stdout.split('\n')) {
        const n = line.split(' ')[0] ?? '';
        // Only namespaces of pods this cluster created (their uids are in its data dir).
        if (n.startsWith('pcns-')) {
          const uid = n.slice(5);
          const st = await run('test', ['-e', `${dir.path}/node-agent/pods/pods/${uid}`]);
          if (st.code === 0) await run('ip', ['netns', 'del', n]);
        }
      }
      await removeNftTable(table);
      await removeBridge(bridge, serviceCidr);
      await store.close();
      if (opts.registry === undefined) await registry.close();
      await dir.cleanup();
    },
  };
}

// Every answer must be an envelope and never a 5xx (bad input is never a 500).
export { callEnvelope as call, type EnvelopeResponse as JsonResponse } from '@photoncloud/test-utils';
