/**
 * Test harness: run the same etcdctl session against a real etcd 3.4 and against ChainFire's etcd gRPC
 * server, normalise what may legitimately differ (IDs, ports, timings, sizes, hashes) and compare.
 *
 * A "backend" is whatever Store the gRPC server runs on: an EtcdStore proxying a real etcd (usable
 * before ChainFire's engine exists; a real component, not a mock) and ChainFire's own engine.
 */
import { EtcdStore, type Store } from '@photoncloud/store';
import {
  freePort,
  run,
  startEtcd,
  startProcess,
  tempDir,
  type RunResult,
  type StartedProcess,
} from '@photoncloud/test-utils';
import { openChainFire } from '../src/engine.js';
import { startEtcdGrpcServer } from '../src/grpc/index.js';

/** A running etcd v3 endpoint plus what the normaliser needs to know about it. */
export interface Endpoint {
  endpoint: string;
  memberId: string;
  clusterId: string;
  stop(): Promise<void>;
}

/** A way to obtain a Store for the gRPC server. */
export interface Backend {
  name: string;
  /** `url` is where the gRPC server will listen, for stores that advertise their member's URLs. */
  open(url: string): Promise<{ store: Store; stop(): Promise<void> }>;
}

/** EtcdStore in front of a fresh real etcd: the server under test is a proxy. */
export const proxyBackend: Backend = {
  name: 'EtcdStore proxy to etcd',
  async open() {
    const etcd = await startEtcd();
    const store = new EtcdStore({ endpoints: [etcd.endpoint] });
    return {
      store,
      stop: async () => {
        await store.close();
        await etcd.stop();
      },
    };
  },
};

/** ChainFire's own engine on a fresh data dir. */
export const engineBackend: Backend = {
  name: 'ChainFire engine',
  async open(url) {
    const dir = await tempDir('chainfire-grpc-');
    // ChainFire serves clients and (later) Raft peers on the same gRPC port.
    const store = await openChainFire({ dataDir: dir.path, clientUrls: [url], peerUrls: [url] });
    return {
      store,
      stop: async () => {
        await store.close();
        await dir.cleanup();
      },
    };
  },
};

async function describeEndpoint(endpoint: string): Promise<{ memberId: string; clusterId: string }> {
  const client = new EtcdStore({ endpoints: [endpoint] });
  try {
    const { header } = await client.memberList();
    return { memberId: header.memberId, clusterId: header.clusterId };
  } finally {
    await client.close();
  }
}

/** A fresh real etcd, used directly. */
export async function startReference(): Promise<Endpoint> {
  const etcd = await startEtcd();
  return { endpoint: etcd.endpoint, ...(await describeEndpoint(etcd.endpoint)), stop: () => etcd.stop() };
}

/** ChainFire's gRPC server on a fresh store of `backend`. */
export async function startUnderTest(backend: Backend): Promise<Endpoint> {
  const port = await freePort();
  const { store, stop } = await backend.open(`http://127.0.0.1:${port}`);
  const server = await startEtcdGrpcServer(store, { host: '127.0.0.1', port });
  const endpoint = `127.0.0.1:${server.port}`;
  return {
    endpoint,
    ...(await describeEndpoint(endpoint)),
    stop: async () => {
      await server.close();
      await stop();
    },
  };
}

/** One etcdctl step's normalised outcome. */
export interface Step {
  cmd: string;
  code: number | null;
  stdout: string;
  stderr: string;
}

const ETCDCTL_ENV = { ETCDCTL_API: '3' };

/** Runs etcdctl against one endpoint and records normalised steps. */
export class Ctl {
  readonly steps: Step[] = [];
  private readonly watches: StartedProcess[] = [];

  constructor(readonly target: Endpoint) {}

  /** Run `etcdctl args…`, record its normalised output, return the raw result. */
  async run(
    args: string[],
    opts: { input?: string; normalize?: (s: string) => string; timeoutMs?: number } = {},
  ): Promise<RunResult> {
    const res = await this.raw(args, opts);
    const norm = (s: string) => (opts.normalize ?? ((x) => x))(this.normalize(s));
    this.steps.push({
      cmd: this.normalize(args.join(' ')),
      code: res.code,
      stdout: norm(res.stdout),
      stderr: norm(cleanStderr(res.stderr)),
    });
    return res;
  }

  /** Run etcdctl without recording. */
  raw(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return run('etcdctl', [`--endpoints=${this.target.endpoint}`, '--command-timeout=10s', ...args], {
      env: ETCDCTL_ENV,
      timeoutMs: opts.timeoutMs ?? 20_000,
      ...(opts.input !== undefined ? { input: opts.input } : {}),
    });
  }

  /** Start a long-running `etcdctl watch …`. */
  async watch(args: string[]): Promise<StartedProcess> {
    const p = await startProcess('etcdctl', [`--endpoints=${this.target.endpoint}`, 'watch', ...args], {
      env: ETCDCTL_ENV,
    });
    this.watches.push(p);
    return p;
  }

  /** Record a watch's output so far (normalised) as a step, and stop it. */
  async finishWatch(p: StartedProcess, label: string): Promise<void> {
    await p.stop();
    this.steps.push({
      cmd: `watch ${label}`,
      code: 0,
      stdout: this.normalize(p.stdout()),
      stderr: this.normalize(cleanStderr(p.stderr())),
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.watches.map((w) => w.stop()));
  }

  /** Replace what legitimately differs between two servers by placeholders. */
  normalize(s: string): string {
    const { memberId, clusterId } = this.target;
    const hexMember = BigInt(memberId).toString(16);
    const hexCluster = BigInt(clusterId).toString(16);
    return (
      s
        .replaceAll(memberId, '<member>')
        .replaceAll(clusterId, '<cluster>')
        .replace(new RegExp(`\\b${hexMember}\\b`, 'g'), '<member>')
        .replace(new RegExp(`\\b${hexCluster}\\b`, 'g'), '<cluster>')
        // Lease IDs: 16 hex digits in text, large decimals in JSON.
        .replace(/\b[0-9a-f]{16}\b/g, '<hex>')
        .replace(/"(ID|id|lease)":\s*[1-9]\d*/g, '"$1":<id>')
        .replace(/(https?:\/\/)?127\.0\.0\.1:\d+/g, '<addr>')
        .replace(/took = [\d.]+(ns|µs|ms|s)/g, 'took = <t>')
        // Raft terms count elections, which differ between implementations.
        .replace(/"raft_term":\s*\d+/g, '"raft_term":<t>')
        .replace(/"RaftTerm" : \d+/g, '"RaftTerm" : <t>')
        .replace(/remaining\(\d+s\)/g, 'remaining(<n>s)')
        // Table columns are as wide as their longest (now normalised) cell.
        .replace(/^[+|].*[+|]$/gm, (line) => line.replace(/-+/g, '-').replace(/ +/g, ' '))
    );
  }
}

/** etcd's client logs retries as JSON lines on stderr; keep what they say (the error), not when. */
function cleanStderr(stderr: string): string {
  return stderr
    .split('\n')
    .map((line) => {
      if (!line.startsWith('{')) return line;
      try {
        const j = JSON.parse(line) as { level?: string; msg?: string; error?: string };
        return `[${j.level}] ${j.msg}${j.error ? `: ${j.error}` : ''}`;
      } catch {
        return line;
      }
    })
    .join('\n');
}

/** Run `session` against a fresh real etcd and a fresh server on `backend`; return both transcripts. */
export async function compareSessions(
  backend: Backend,
  session: (ctl: Ctl) => Promise<void>,
): Promise<{ reference: Step[]; ours: Step[] }> {
  const [ref, ours] = await startBoth(backend);
  const a = new Ctl(ref);
  const b = new Ctl(ours);
  try {
    // Each side runs the same sequence on its own fresh server; the two runs are independent.
    await Promise.all([session(a), session(b)]);
    return { reference: a.steps, ours: b.steps };
  } finally {
    await Promise.all([a.close(), b.close()]);
    await Promise.all([ref.stop(), ours.stop()]);
  }
}

/**
 * Start a reference etcd and a server on `backend` side by side; if either fails, stop the other
 * before rethrowing, so that nothing outlives the test.
 */
export async function startBoth(backend: Backend): Promise<[Endpoint, Endpoint]> {
  const [a, b] = await Promise.allSettled([startReference(), startUnderTest(backend)]);
  if (a.status === 'fulfilled' && b.status === 'fulfilled') return [a.value, b.value];
  await Promise.all([a, b].map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
  throw a.status === 'rejected' ? a.reason : (b as PromiseRejectedResult).reason;
}
