/**
 * The node agent process: one HTTP listener (default 8092: /health, /metrics, pod logs) on the server
 * kit; registers this machine as a k8shost node (real capacity, heartbeat lease) and starts the runtime
 * components (./component.ts), which converge the machine towards the desired state in ChainFire.
 * `photoncloud serve node-agent` runs this (apps/cli/src/services/node-agent.ts); tests start it in-process.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { NotFoundError, UnsupportedMediaTypeError, ValidationError } from '@photoncloud/errors';
import { httpUrl } from '@photoncloud/config';
import { createService, envelope, ok, responses } from '@photoncloud/http-kit';
import type { AuthOptions, Service } from '@photoncloud/http-kit';
import { K8S_KEYS, NsNameParams, PodLogs } from '@photoncloud/k8shost-api';
import type { PodSpec } from '@photoncloud/k8shost-api';
import { createLogger } from '@photoncloud/log';
import type { Logger } from '@photoncloud/log';
import { bytes, text } from '@photoncloud/store';
import type { Store } from '@photoncloud/store';
import type { AgentComponent, AgentComponentOptions } from './component.js';
import { registerNode } from './node.js';
import type { NodeRegistration } from './node.js';
import { ImagePullError, ImageStore, podAgentSettings, podLogFile, startPodAgent } from './pods/index.js';
import { startVmAgent } from './vm/index.js';
import type { PodAgentSettings } from './pods/index.js';

/** The node agent's default HTTP port. */
export const NODE_AGENT_DEFAULT_PORT = 8092;

/** The default cluster pod CIDR (each node claims a /24). */
export const DEFAULT_CLUSTER_CIDR = '10.244.0.0/16';

const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

/** A runtime component's starter (the seam). */
export type ComponentStarter = (opts: AgentComponentOptions) => Promise<AgentComponent>;

/** How to run the node agent. */
export interface NodeAgentOptions {
  store: Store;
  /** The agent's own directory (`<data-dir>/node-agent`); components get `<dataDir>/<component>`. */
  dataDir: string;
  host?: string;
  /** Default 0 (free port); the CLI passes 8092. */
  port?: number;
  auth: AuthOptions;
  logger?: Logger;
  /** Default: env PHOTONCLOUD_NODE_NAME, else the hostname (lowercased to a DNS label). */
  nodeName?: string;
  /** Default: env PHOTONCLOUD_POD_CIDR, else 10.244.0.0/16. */
  clusterCidr?: string;
  /** Heartbeat lease TTL (default 10 s). */
  leaseTtlSeconds?: number;
  /** Pod runtime settings (defaults from the environment). */
  pods?: Partial<PodAgentSettings>;
  /** Extra components to start after the built-in ones (tests). */
  extraComponents?: Record<string, ComponentStarter>;
}

/** A running node agent. */
export interface NodeAgent {
  url: string;
  nodeName: string;
  registration: NodeRegistration;
  service: Service;
  /** Stop components (workloads keep running), revoke the heartbeat (node → NotReady), close HTTP. */
  close(): Promise<void>;
}

/** A DNS-1123 label from a hostname. */
export function nodeNameFrom(h: string): string {
  const s = h
    .toLowerCase()
    .split('.')[0]!
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
  return s === '' ? 'node' : s;
}

/** Start the node agent. */
export async function startNodeAgent(opts: NodeAgentOptions): Promise<NodeAgent> {
  const logger = opts.logger ?? createLogger({ service: 'node-agent' });
  const nodeName = opts.nodeName ?? process.env['PHOTONCLOUD_NODE_NAME'] ?? nodeNameFrom(hostname());
  const clusterCidr = opts.clusterCidr ?? process.env['PHOTONCLOUD_POD_CIDR'] ?? DEFAULT_CLUSTER_CIDR;
  const agentDir = opts.dataDir;
  const podsDir = join(agentDir, 'pods');

  const service = await createService({
    name: 'node-agent',
    version: VERSION,
    description: 'Runs pods (runc) and VMs on this machine for k8shost and PlasmaVMC.',
    logger,
    auth: opts.auth,
    store: opts.store,
    idempotency: false,
  });

  service.app.get(
    '/api/v1/pods/:namespace/:name/logs',
    {
      schema: {
        tags: ['pods'],
        summary: "A pod's container log on this node",
        params: NsNameParams,
        querystring: Type.Object({
          tail_bytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 16777216 })),
        }),
        response: responses({ 200: envelope(PodLogs) }),
      },
    },
    async (request) => {
      const { namespace, name } = request.params;
      const r = await opts.store.range({ key: bytes(K8S_KEYS.pod(namespace, name)) });
      const kv = r.kvs[0];
      if (kv === undefined) throw new NotFoundError('pod', `${namespace}/${name}`);
      const spec = JSON.parse(text(kv.value)) as PodSpec;
      const file = podLogFile(podsDir, spec.uid);
      const max = request.query.tail_bytes ?? 1024 * 1024;
      const size = await stat(file).then(
        (s) => s.size,
        () => -1,
      );
      if (size < 0) return ok(request, { namespace, name, logs: '' });
      const start = Math.max(0, size - max);
      const fh = await open(file, 'r');
      try {
        const buf = Buffer.alloc(size - start);
        await fh.read(buf, 0, buf.length, start);
        return ok(request, { namespace, name, logs: buf.toString('utf8') });
      } finally {
        await fh.close();
      }
    },
  );

  // Import an OCI image-layout tarball into this node's image cache (for machines without a registry).
  const imageDir = join(podsDir, 'images');
  await service.app.register(async (scope) => {
    for (const type of ['application/x-tar', 'application/octet-stream']) {
      scope.addContentTypeParser(type, (_req, payload, done) => done(null, payload));
    }
    scope.post(
      '/api/v1/images/import',
      {
        bodyLimit: 16 * 1024 * 1024 * 1024,
        config: { idempotency: false },
        schema: {
          tags: ['images'],
          summary:
            'Import an OCI image-layout tarball (Content-Type: application/x-tar) and tag it as `name`',
          querystring: Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }),
          response: responses({ 200: envelope(Type.Object({ name: Type.String(), digest: Type.String() })) }),
        },
      },
      async (request) => {
        const { name } = request.query as { name: string };
        const body = request.body as Readable | undefined;
        if (body === undefined || typeof (body as { pipe?: unknown }).pipe !== 'function') {
          throw new UnsupportedMediaTypeError(request.headers['content-type'], {
            hint: 'Send the tarball with "Content-Type: application/x-tar"',
          });
        }
        const tmpDir = join(imageDir, 'uploads');
        await mkdir(tmpDir, { recursive: true });
        const file = join(tmpDir, `${randomBytes(8).toString('hex')}.tar`);
        try {
          await pipeline(body, createWriteStream(file, { mode: 0o600 }));
          const store = new ImageStore(imageDir, podAgentSettings(opts.pods ?? {}).registry);
          const digest = await store.importOciArchive(file, name).catch((err: unknown) => {
            if (err instanceof ImagePullError)
              throw new ValidationError('body', 'oci-image-layout', err.message);
            // tar itself refusing the bytes: not an archive.
            throw new ValidationError(
              'body',
              'oci-image-layout',
              'The body is not an OCI image-layout tarball',
            );
          });
          return ok(request, { name, digest });
        } finally {
          await rm(file, { force: true });
        }
      },
    );
  });

  const host = opts.host ?? '127.0.0.1';
  const addr = await service.listen({ host, port: opts.port ?? 0 });
  const url = httpUrl(host, addr.port);
  const components: Array<{ name: string; c: AgentComponent }> = [];
  let registration: NodeRegistration | null = null;
  try {
    registration = await registerNode({
      store: opts.store,
      nodeName,
      clusterCidr,
      agentUrl: url,
      logger,
      ...(opts.leaseTtlSeconds === undefined ? {} : { leaseTtlSeconds: opts.leaseTtlSeconds }),
    });
    // ---- Runtime components (the seam in ./component.ts). --------------------------------------------
    // Each gets `<data-dir>/node-agent/<name>`.
    const starters: Record<string, ComponentStarter> = {
      pods: (o) => startPodAgent(o, opts.pods ?? {}),
      vm: startVmAgent,
      ...opts.extraComponents,
    };
    // ----------------------------------------------------------------------------------------------------
    for (const [name, start] of Object.entries(starters)) {
      try {
        const c = await start({
          store: opts.store,
          dataDir: join(agentDir, name),
          nodeName,
          logger: logger.child({ component: name }),
        });
        components.push({ name, c });
      } catch (err) {
        // One runtime this machine cannot offer (e.g. pods without root for runc, ip and nft) must not
        // take the others down: the agent runs without it and says why.
        logger.error(
          { err, component: name },
          `${name} runtime unavailable on this machine; running without it`,
        );
      }
    }
  } catch (err) {
    for (const { c } of components.reverse()) await c.close().catch(() => undefined);
    await registration?.close().catch(() => undefined);
    await service.close().catch(() => undefined);
    throw err;
  }
  let closed = false;
  const reg = registration;
  return {
    url,
    nodeName,
    registration: reg,
    service,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const { name, c } of [...components].reverse()) {
        await c
          .close()
          .catch((err: unknown) => logger.warn({ err, component: name }, 'component close failed'));
      }
      await reg.close();
      await service.close();
    },
  };
}
