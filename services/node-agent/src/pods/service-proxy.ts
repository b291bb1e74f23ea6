/**
 * The service dataplane on this node (what kube-proxy does): from services and their endpoints in
 * ChainFire, render the PhotonCloud nftables table (../core/nft.ts) and load it atomically whenever it
 * changes. Only the agent's own table is touched.
 */
import { K8S_KEYS } from '@photoncloud/k8shost-api';
import type { Endpoint, Service } from '@photoncloud/k8shost-api';
import type { Logger } from '@photoncloud/log';
import { bytes, prefixEnd, text } from '@photoncloud/store';
import type { Store } from '@photoncloud/store';
import { renderNft } from '../core/nft.js';
import type { NftServicePort } from '../core/nft.js';
import { execTool } from './exec.js';

/** How to run the proxy. */
export interface ServiceProxyOptions {
  store: Store;
  table: string;
  bridge: string;
  podCidr: string;
  logger: Logger;
  pollMs: number;
}

/** Remove the agent's nftables table (tests; uninstall). */
export async function removeNftTable(table: string): Promise<void> {
  await execTool('nft', ['delete', 'table', 'ip', table]).catch(() => undefined);
}

/** Start programming the dataplane. */
export async function startServiceProxy(opts: ServiceProxyOptions): Promise<{ close(): Promise<void> }> {
  let last = '';
  let closed = false;
  let running = false;
  let again = false;

  async function pass(): Promise<void> {
    const sp = bytes(K8S_KEYS.services);
    const ep = bytes(K8S_KEYS.endpoints);
    const [svcs, eps] = await Promise.all([
      opts.store.range({ key: sp, rangeEnd: prefixEnd(sp) }),
      opts.store.range({ key: ep, rangeEnd: prefixEnd(ep) }),
    ]);
    const endpoints = new Map(
      eps.kvs.map((kv) => [
        text(kv.key).slice(K8S_KEYS.endpoints.length),
        JSON.parse(text(kv.value)) as Endpoint[],
      ]),
    );
    const ports: NftServicePort[] = [];
    for (const kv of svcs.kvs) {
      const s = JSON.parse(text(kv.value)) as Service;
      const e = endpoints.get(`${s.namespace}/${s.name}`) ?? [];
      for (const p of s.ports) {
        ports.push({
          clusterIp: s.cluster_ip,
          port: p.port,
          targetPort: p.target_port,
          protocol: p.protocol,
          endpoints: e.map((x) => x.ip),
        });
      }
    }
    const script = renderNft({
      table: opts.table,
      bridge: opts.bridge,
      podCidr: opts.podCidr,
      services: ports,
    });
    if (script === last) return;
    await execTool('nft', ['-f', '-'], { input: script });
    last = script;
    opts.logger.debug({ services: ports.length }, 'service rules loaded');
  }

  async function loop(): Promise<void> {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await pass().catch((err: unknown) => {
          if (!closed) opts.logger.warn({ err }, 'service dataplane update failed');
        });
      } while (again && !closed);
    } finally {
      running = false;
    }
  }

  const p1 = bytes(K8S_KEYS.services);
  const p2 = bytes(K8S_KEYS.endpoints);
  const w1 = await opts.store.watch({ key: p1, rangeEnd: prefixEnd(p1) }, () => void loop());
  const w2 = await opts.store.watch({ key: p2, rangeEnd: prefixEnd(p2) }, () => void loop());
  const timer = setInterval(() => void loop(), opts.pollMs);
  await loop();
  return {
    close: async () => {
      closed = true;
      clearInterval(timer);
      await w1.cancel().catch(() => undefined);
      await w2.cancel().catch(() => undefined);
      for (let i = 0; i < 100 && running; i++) await new Promise((r) => setTimeout(r, 20));
    },
  };
}
