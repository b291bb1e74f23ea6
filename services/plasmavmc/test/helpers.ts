/** Start PlasmaVMC in-process on loopback over a real ChainFire engine, with the node agent's VM component. */
import { createLogger } from '@photoncloud/log';
import type { AuthOptions } from '@photoncloud/http-kit';
import type { Store } from '@photoncloud/store';
import { PlasmaVmcClient } from '@photoncloud/plasmavmc-api';
import { callEnvelope, tempDir } from '@photoncloud/test-utils';
import type { EnvelopeResponse, TempDir } from '@photoncloud/test-utils';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openChainFire } from '../../chainfire/src/engine.js';
import { startVmAgent } from '../../node-agent/src/vm/index.js';
import type { AgentComponent } from '../../node-agent/src/component.js';
import { startPrismNetServer } from '../../prismnet/src/server.js';
import { startCreditServiceServer } from '../../creditservice/src/server.js';
import { startPlasmaVmcServer } from '../src/server.js';
import type { PlasmaVmcServer } from '../src/server.js';

/** A running PlasmaVMC (and agent) with its store. */
export interface Harness {
  url: string;
  /** PrismNET / CreditService URLs when started with `seams`. */
  serviceUrls: Record<string, string>;
  store: Store;
  dir: TempDir;
  server: PlasmaVmcServer;
  client: PlasmaVmcClient;
  agentDir: string;
  agent: AgentComponent | undefined;
  /** (Re)start the VM agent. */
  startAgent(): Promise<AgentComponent>;
  /** Kill every QEMU this harness's agent dir still has running (cleanup after failures), close all. */
  close(): Promise<void>;
}

/** Options of `startHarness`. */
export interface HarnessOptions {
  auth?: AuthOptions;
  agent?: boolean;
  /** Other services' URLs (default: those started by `seams`). */
  serviceUrls?: Record<string, string>;
  /** Start PrismNET and CreditService in-process on the same store and wire them in. */
  seams?: boolean;
  newId?: (prefix: string) => string;
}

/** Start ChainFire (in-process), PlasmaVMC on a free port and, unless `agent: false`, the VM agent. */
export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dir = await tempDir('plasmavmc-test-');
  const store = await openChainFire({ dataDir: join(dir.path, 'chainfire') });
  const logger = createLogger({ service: 'plasmavmc', level: 'silent' });
  const closers: Array<() => Promise<void>> = [];
  const serviceUrls: Record<string, string> = {};
  if (opts.seams === true) {
    const prismnet = await startPrismNetServer({ store, auth: { mode: 'local' }, logger });
    const credit = await startCreditServiceServer({
      store,
      auth: { mode: 'local' },
      logger,
      sweepIntervalMs: 0,
    });
    closers.push(
      () => prismnet.close(),
      () => credit.close(),
    );
    serviceUrls['prismnet'] = prismnet.url;
    serviceUrls['creditservice'] = credit.url;
  }
  Object.assign(serviceUrls, opts.serviceUrls);
  const server = await startPlasmaVmcServer({
    store,
    dataDir: join(dir.path, 'plasmavmc'),
    auth: opts.auth ?? { mode: 'local' },
    logger,
    serviceUrls,
    ...(opts.newId === undefined ? {} : { newId: opts.newId }),
  });
  const agentDir = join(dir.path, 'node-agent', 'vm');
  const h: Harness = {
    url: server.url,
    serviceUrls,
    store,
    dir,
    server,
    client: new PlasmaVmcClient({ baseUrl: server.url }),
    agentDir,
    agent: undefined,
    async startAgent() {
      h.agent = await startVmAgent({ store, dataDir: agentDir, nodeName: 'test-node', logger });
      return h.agent;
    },
    async close() {
      await h.agent?.close();
      for (const pid of await qemuPids(agentDir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await server.close();
      for (const c of closers) await c();
      await store.close();
      await dir.cleanup();
    },
  };
  if (opts.agent !== false) await h.startAgent();
  return h;
}

/** Pids of QEMU processes whose command line names a socket under `agentDir`. */
export async function qemuPids(agentDir: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = await readFile(`/proc/${name}/cmdline`, 'utf8');
      if (cmd.startsWith('qemu-system-x86_64') && cmd.includes(agentDir)) out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** A JSON response. */
export type JsonResponse = EnvelopeResponse;

/** Send a request; every answer must be an envelope and never a 5xx except the 503 a test expects. */
export function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  return callEnvelope(base, method, path, body, headers, { allow5xx: [503] });
}
