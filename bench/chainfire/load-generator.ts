/**
 * The load generator: the SAME client code drives ChainFire and etcd — raw @grpc/grpc-js on the etcd v3
 * KV service, with the shared loader of @photoncloud/etcd-proto. N closed-loop clients (each sends its
 * next request when the previous one answers) for a bounded time and a bounded number of requests.
 */
import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  loadEtcdProto,
  type Outgoing,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
} from '@photoncloud/etcd-proto';
import { LatencySamples, summarizeLatencies, type LatencySummary } from './latency-stats.js';

/** What each request does: `put` one key, `get` one key (linearizable Range), `range` a run of keys. */
export type LoadOp = 'put' | 'get' | 'range';

/** One measured scenario. */
export interface LoadSpec {
  /** `host:port` of the etcd v3 gRPC endpoint. */
  endpoint: string;
  op: LoadOp;
  /** Concurrent closed-loop clients. */
  clients: number;
  /** TCP connections the clients share round-robin (default: one per client, as separate processes would). */
  connections?: number;
  /** Measured phase length in ms; the phase also ends after `maxOps` requests. */
  durationMs: number;
  /** Upper bound on requests in the measured phase (default 5 000 000), so every run is bounded. */
  maxOps?: number;
  /** Unmeasured warm-up before the measured phase (default 0). */
  warmupMs?: number;
  /** Value size in bytes for puts and for the keys `get`/`range` read (default 256). */
  valueSize?: number;
  /** Puts cycle through this many distinct keys (default 100 000). */
  keySpace?: number;
  /** Prefix of every key the generator touches (default `/bench/`). */
  keyPrefix?: string;
  /** Keys per `range` request (default 100). */
  rangeLimit?: number;
  /** Keys `get`/`range` read, written by `preloadKeys` first (default 1000). */
  readKeys?: number;
  /** Use serializable reads instead of linearizable ones (default false: etcd's default). */
  serializable?: boolean;
  /** Per-request gRPC deadline in ms (default 30 000): a stuck server fails the run instead of hanging it. */
  requestTimeoutMs?: number;
  /** Sampled at the start and end of the measured phase, e.g. the server's CPU seconds. */
  probe?: () => Record<string, number>;
}

/** What one scenario measured. */
export interface LoadResult {
  op: LoadOp;
  clients: number;
  connections: number;
  /** Requests that succeeded in the measured phase. */
  ops: number;
  /** Failed requests by gRPC status name or `bad-response`. */
  errors: Record<string, number>;
  /** Measured phase wall time, from the first request to the last answer. */
  elapsedSec: number;
  /** Successful requests per second. */
  opsPerSec: number;
  /** Latency of successful requests in ms. */
  latency: LatencySummary;
  /** CPU seconds this (client) process used during the measured phase. */
  clientCpuSec: number;
  /** The measured phase on the monotonic clock in µs (`process.hrtime`), e.g. to cut a CPU profile. */
  windowUs: { startUs: number; endUs: number };
  /** `probe()` at the end minus at the start, per key, when a probe was given. */
  probeDelta: Record<string, number> | null;
}

/** The part of the generated KV client we call. */
interface KvClient extends grpc.Client {
  Put(
    req: Outgoing<PutRequest>,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: PutResponse) => void,
  ): void;
  Range(
    req: Outgoing<RangeRequest>,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: RangeResponse) => void,
  ): void;
}

const DEFAULTS = {
  maxOps: 5_000_000,
  valueSize: 256,
  keySpace: 100_000,
  keyPrefix: '/bench/',
  rangeLimit: 100,
  readKeys: 1000,
  requestTimeoutMs: 30_000,
};

/** Open `n` KV clients to `endpoint`, each on its own TCP connection, and wait until all are connected. */
export async function openKvClients(endpoint: string, n: number, timeoutMs = 10_000): Promise<KvClient[]> {
  const Ctor = loadEtcdProto().clients.KV;
  const clients: KvClient[] = [];
  for (let i = 0; i < n; i++) {
    clients.push(
      new Ctor(endpoint, grpc.credentials.createInsecure(), {
        // grpc-js shares one connection between clients with equal settings; a local pool gives each its own.
        'grpc.use_local_subchannel_pool': 1,
        'grpc.max_receive_message_length': 64 * 1024 * 1024,
      }) as unknown as KvClient,
    );
  }
  const deadline = Date.now() + timeoutMs;
  try {
    await Promise.all(
      clients.map(
        (c) =>
          new Promise<void>((resolve, reject) =>
            c.waitForReady(deadline, (err) =>
              err ? reject(new Error(`cannot connect to ${endpoint}: ${err.message}`)) : resolve(),
            ),
          ),
      ),
    );
  } catch (err) {
    for (const c of clients) c.close();
    throw err;
  }
  return clients;
}

/** Key `i` of the read set under `prefix`. */
function readKey(prefix: string, i: number): Buffer {
  return Buffer.from(`${prefix}read/${String(i).padStart(8, '0')}`);
}

/** The smallest key greater than every key starting with `prefix` (etcd's prefix range_end). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** Write the `count` keys that `get`/`range` scenarios read, `valueSize` bytes each. */
export async function preloadKeys(
  endpoint: string,
  { count = DEFAULTS.readKeys, valueSize = DEFAULTS.valueSize, keyPrefix = DEFAULTS.keyPrefix } = {},
): Promise<void> {
  const clients = await openKvClients(endpoint, 4);
  const value = randomBytes(valueSize);
  let next = 0;
  try {
    await Promise.all(
      clients.map(async (c) => {
        while (next < count) {
          const key = readKey(keyPrefix, next++);
          await new Promise<void>((resolve, reject) =>
            c.Put({ key, value }, { deadline: Date.now() + DEFAULTS.requestTimeoutMs }, (err) =>
              err ? reject(new Error(`preload put failed: ${err.message}`)) : resolve(),
            ),
          );
        }
      }),
    );
  } finally {
    for (const c of clients) c.close();
  }
}

interface PhaseOutcome {
  ops: number;
  errors: Record<string, number>;
  elapsedSec: number;
  samples: LatencySamples;
}

/** Run one closed-loop phase on already-connected clients. */
function runPhase(kv: KvClient[], spec: LoadSpec, durationMs: number, maxOps: number): Promise<PhaseOutcome> {
  const valueSize = spec.valueSize ?? DEFAULTS.valueSize;
  const keySpace = spec.keySpace ?? DEFAULTS.keySpace;
  const prefix = spec.keyPrefix ?? DEFAULTS.keyPrefix;
  const readKeys = spec.readKeys ?? DEFAULTS.readKeys;
  const rangeLimit = spec.rangeLimit ?? DEFAULTS.rangeLimit;
  const serializable = spec.serializable ?? false;
  const timeoutMs = spec.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs;
  const value = randomBytes(valueSize);
  const readEnd = prefixEnd(Buffer.from(`${prefix}read/`));
  const samples = new LatencySamples();
  const errors: Record<string, number> = {};
  let ops = 0;
  let issued = 0;
  let putSeq = 0;
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  let lastDone = t0;

  return new Promise((resolve) => {
    let running = spec.clients;
    const fail = (what: string): void => {
      errors[what] = (errors[what] ?? 0) + 1;
    };
    const worker = (client: KvClient): void => {
      const step = (): void => {
        if (issued >= maxOps || performance.now() >= deadline) {
          if (--running === 0) resolve({ ops, errors, elapsedSec: (lastDone - t0) / 1000, samples });
          return;
        }
        issued++;
        const start = performance.now();
        const callOpts: grpc.CallOptions = { deadline: Date.now() + timeoutMs };
        const done = (err: grpc.ServiceError | null, ok: boolean): void => {
          const end = performance.now();
          lastDone = end;
          if (err) fail(grpc.status[err.code] ?? String(err.code));
          else if (!ok) fail('bad-response');
          else {
            ops++;
            samples.add(end - start);
          }
          // grpc-js always answers asynchronously, so calling on directly cannot recurse.
          step();
        };
        if (spec.op === 'put') {
          const key = Buffer.from(`${prefix}put/${String(putSeq++ % keySpace).padStart(8, '0')}`);
          client.Put({ key, value }, callOpts, (err, res) => done(err, res?.header != null));
        } else if (spec.op === 'get') {
          const key = readKey(prefix, Math.floor(Math.random() * readKeys));
          client.Range({ key, serializable }, callOpts, (err, res) =>
            done(err, res !== undefined && res.kvs.length === 1 && res.kvs[0]!.value.length === valueSize),
          );
        } else {
          const first = Math.floor(Math.random() * Math.max(1, readKeys - rangeLimit + 1));
          const key = readKey(prefix, first);
          client.Range({ key, range_end: readEnd, limit: rangeLimit, serializable }, callOpts, (err, res) =>
            done(err, res !== undefined && res.kvs.length === Math.min(rangeLimit, readKeys - first)),
          );
        }
      };
      step();
    };
    for (let i = 0; i < spec.clients; i++) worker(kv[i % kv.length] as KvClient);
  });
}

/** Run one scenario: connect, warm up, measure, disconnect. `get`/`range` need `preloadKeys` first. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  if (!Number.isInteger(spec.clients) || spec.clients < 1)
    throw new RangeError('runLoad: clients must be an integer >= 1');
  if (!(spec.durationMs > 0)) throw new RangeError('runLoad: durationMs must be > 0');
  const connections = Math.min(spec.connections ?? spec.clients, spec.clients);
  const maxOps = spec.maxOps ?? DEFAULTS.maxOps;
  const kv = await openKvClients(spec.endpoint, connections);
  try {
    if ((spec.warmupMs ?? 0) > 0) await runPhase(kv, spec, spec.warmupMs!, maxOps);
    const cpu0 = process.cpuUsage();
    const probe0 = spec.probe?.();
    const startUs = Number(process.hrtime.bigint() / 1000n);
    const phase = await runPhase(kv, spec, spec.durationMs, maxOps);
    const endUs = Number(process.hrtime.bigint() / 1000n);
    const probe1 = spec.probe?.();
    const cpu = process.cpuUsage(cpu0);
    return {
      op: spec.op,
      clients: spec.clients,
      connections,
      ops: phase.ops,
      errors: phase.errors,
      elapsedSec: phase.elapsedSec,
      opsPerSec: phase.elapsedSec > 0 ? phase.ops / phase.elapsedSec : 0,
      latency: summarizeLatencies(phase.samples),
      clientCpuSec: (cpu.user + cpu.system) / 1e6,
      windowUs: { startUs, endUs },
      probeDelta:
        probe0 !== undefined && probe1 !== undefined
          ? Object.fromEntries(Object.entries(probe1).map(([k, v]) => [k, v - (probe0[k] ?? 0)]))
          : null,
    };
  } finally {
    for (const c of kv) c.close();
  }
}
