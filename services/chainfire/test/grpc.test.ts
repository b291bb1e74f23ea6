/**
 * ChainFire's etcd gRPC server at the protocol level: the etcd3 npm client, raw RPCs compared with a
 * real etcd 3.4 (nested txn headers, watch streams, validation errors), keep-alive streams, hashes,
 * malformed input and shutdown. Runs over every available backend.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { loadEtcdProto, type EtcdServiceName } from '@photoncloud/etcd-proto';
import { waitFor } from '@photoncloud/test-utils';
import {
  engineBackend,
  proxyBackend,
  startBoth,
  startUnderTest,
  type Backend,
  type Endpoint,
} from './etcdctl-harness.js';

/** The server on an EtcdStore proxy to a real etcd, and on ChainFire's own engine. */
const backends: Backend[] = [proxyBackend, engineBackend];

const b = (s: string) => Buffer.from(s);

/** Raw etcd gRPC clients on one endpoint. */
class Raw {
  private readonly clients = new Map<EtcdServiceName, grpc.Client>();
  constructor(readonly endpoint: string) {}

  client(service: EtcdServiceName): grpc.Client {
    let c = this.clients.get(service);
    if (!c) {
      c = new (loadEtcdProto().clients[service])(this.endpoint, grpc.credentials.createInsecure(), {
        'grpc.max_send_message_length': -1,
      });
      this.clients.set(service, c);
    }
    return c;
  }

  /** A unary call; resolves with the response or with `{ code, details }` of the error. */
  call(service: EtcdServiceName, method: string, req: object): Promise<Record<string, unknown>> {
    const c = this.client(service) as unknown as Record<
      string,
      (r: object, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void
    >;
    return new Promise((resolve) => {
      c[method]!.call(this.client(service), req, (err, res) =>
        resolve(err ? { code: err.code, details: err.details } : (res as Record<string, unknown>)),
      );
    });
  }

  stream(
    service: 'Watch' | 'Lease',
    method: string,
  ): grpc.ClientDuplexStream<object, Record<string, unknown>> {
    const c = this.client(service) as unknown as Record<
      string,
      () => grpc.ClientDuplexStream<object, Record<string, unknown>>
    >;
    return c[method]!.call(this.client(service));
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}

/** Replace the IDs of `ep` (which legitimately differ between servers) by placeholders. */
function normalize(ep: Endpoint, v: unknown): unknown {
  return JSON.parse(
    JSON.stringify(v, (_k, x: unknown) =>
      x && typeof x === 'object' && (x as { type?: string }).type === 'Buffer'
        ? Buffer.from((x as { data: number[] }).data).toString('latin1')
        : x,
    )
      .replaceAll(`"${ep.memberId}"`, '"<member>"')
      .replaceAll(`"${ep.clusterId}"`, '"<cluster>"')
      .replace(/"raft_term":"\d+"/g, '"raft_term":"<t>"'),
  );
}

/** Read the next `n` messages of a stream (bounded by `timeoutMs`). */
function collector(stream: grpc.ClientDuplexStream<object, Record<string, unknown>>) {
  const got: Record<string, unknown>[] = [];
  stream.on('data', (m: Record<string, unknown>) => got.push(m));
  stream.on('error', () => undefined);
  let taken = 0;
  return {
    async next(n: number, timeoutMs = 10_000): Promise<Record<string, unknown>[]> {
      await waitFor(() => got.length >= taken + n, { timeoutMs, what: `${n} stream messages` });
      const out = got.slice(taken, taken + n);
      taken += n;
      return out;
    },
    pending: () => got.length - taken,
  };
}

/** The same scripted watch stream on an endpoint: each step sends one request and reads `expect` responses. */
async function watchScript(
  ep: Endpoint,
  raw: Raw,
  steps: Array<{ send?: object; put?: [string, string]; compact?: number; expect: number }>,
): Promise<unknown[]> {
  const stream = raw.stream('Watch', 'Watch');
  const col = collector(stream);
  const out: unknown[] = [];
  for (const s of steps) {
    if (s.send) stream.write(s.send);
    if (s.put) await raw.call('KV', 'Put', { key: b(s.put[0]), value: b(s.put[1]) });
    if (s.compact) await raw.call('KV', 'Compact', { revision: s.compact, physical: true });
    // Responses of different watchers to the same write come in no defined order (etcd walks a map).
    const got = await col.next(s.expect);
    out.push(...got.sort((x, y) => Number(x.watch_id) - Number(y.watch_id)));
  }
  stream.cancel();
  return out.map((m) => normalize(ep, m));
}

for (const backend of backends) {
  describe(`etcd gRPC server on ${backend.name}`, () => {
    let ours: Endpoint;
    let ref: Endpoint;
    let rawOurs: Raw;
    let rawRef: Raw;

    before(async () => {
      [ref, ours] = await startBoth(backend);
      rawOurs = new Raw(ours.endpoint);
      rawRef = new Raw(ref.endpoint);
    });
    after(async () => {
      rawOurs?.close();
      rawRef?.close();
      await Promise.all([ours?.stop(), ref?.stop()]);
    });

    /** Run `fn` against both servers and assert the normalised results are equal. */
    async function same(fn: (raw: Raw, ep: Endpoint) => Promise<unknown>): Promise<unknown> {
      const [a, c] = await Promise.all([fn(rawRef, ref), fn(rawOurs, ours)]);
      assert.deepEqual(normalize(ours, c), normalize(ref, a));
      return c;
    }

    test('the etcd3 npm client: put/get/delete, prefixes, watch, leases, if-txn, STM', async () => {
      // Its own server: the parity tests below need both servers to have seen the same writes.
      const own = await startUnderTest(backend);
      const client = new Etcd3({ hosts: own.endpoint });
      try {
        await client.put('npm/a').value('1');
        await client.put('npm/b').value('2');
        assert.equal(await client.get('npm/a').string(), '1');
        assert.deepEqual(await client.getAll().prefix('npm/').strings(), { 'npm/a': '1', 'npm/b': '2' });
        assert.equal(await client.getAll().prefix('npm/').count(), 2);

        const watcher = await client.watch().prefix('npm/').create();
        const events: string[] = [];
        watcher.on('put', (kv) => events.push(`put ${kv.key.toString()}=${kv.value.toString()}`));
        watcher.on('delete', (kv) => events.push(`delete ${kv.key.toString()}`));
        await client.put('npm/c').value('3');
        await client.delete().key('npm/a');
        await waitFor(() => events.length >= 2, { what: 'npm watch events' });
        assert.deepEqual(events, ['put npm/c=3', 'delete npm/a']);
        await watcher.cancel();

        const lease = client.lease(60, { autoKeepAlive: false });
        const leaseId = await lease.grant();
        await lease.put('npm/leased').value('x');
        const ka = await lease.keepaliveOnce();
        assert.equal(String(ka.TTL), '60');
        assert.equal(await client.get('npm/leased').string(), 'x');
        await lease.revoke();
        assert.equal(await client.get('npm/leased').string(), null);
        assert.match(leaseId, /^\d+$/);

        const ok = await client
          .if('npm/b', 'Value', '==', '2')
          .then(client.put('npm/b').value('22'))
          .else(client.put('npm/b').value('bad'))
          .commit();
        assert.equal(ok.succeeded, true);
        const no = await client.if('npm/b', 'Version', '>', 99).then(client.put('npm/x').value('x')).commit();
        assert.equal(no.succeeded, false);
        assert.equal(await client.get('npm/b').string(), '22');

        // Concurrent STM increments: conflicts are detected through mod-revision compares and retried.
        await client.put('npm/counter').value('0');
        await Promise.all(
          Array.from({ length: 5 }, () =>
            client.stm({ retries: 50 }).transact(async (tx) => {
              const v = Number(await tx.get('npm/counter').string());
              return tx.put('npm/counter').value(String(v + 1));
            }),
          ),
        );
        assert.equal(await client.get('npm/counter').string(), '5');
      } finally {
        client.close();
        await own.stop();
      }
    });

    test("txn responses, nested txn and inner headers are exactly etcd's", async () => {
      await same(async (raw) => {
        await raw.call('KV', 'Put', { key: b('t/a'), value: b('1') });
        const txn = await raw.call('KV', 'Txn', {
          compare: [{ key: b('t/a'), target: 'VALUE', result: 'EQUAL', value: b('1') }],
          success: [
            { request_put: { key: b('t/b'), value: b('2'), prev_kv: true } },
            { request_range: { key: b('t/a') } },
            { request_delete_range: { key: b('t/a'), prev_kv: true } },
            {
              request_txn: {
                success: [
                  { request_put: { key: b('t/c'), value: b('3') } },
                  { request_range: { key: b('t/c') } },
                ],
              },
            },
          ],
        });
        const failed = await raw.call('KV', 'Txn', {
          compare: [{ key: b('t/zz'), target: 'CREATE', result: 'GREATER', create_revision: 0 }],
          failure: [{ request_range: { key: b('t/'), range_end: b('t0') } }],
        });
        return [txn, failed];
      });
    });

    test("validation errors carry etcd's codes and messages", async () => {
      const ops = (n: number) =>
        Array.from({ length: n }, (_, i) => ({ request_put: { key: b(`op${i}`), value: b('v') } }));
      await same(async (raw) => [
        await raw.call('KV', 'Range', { key: b('') }),
        await raw.call('KV', 'Put', { key: b(''), value: b('v') }),
        await raw.call('KV', 'Put', { key: b('k'), value: b('v'), ignore_value: true }),
        await raw.call('KV', 'Put', { key: b('k'), lease: 5, ignore_lease: true }),
        await raw.call('KV', 'DeleteRange', { key: b('') }),
        await raw.call('KV', 'Txn', { success: ops(129) }),
        await raw.call('KV', 'Txn', { success: [{}] }),
        await raw.call('KV', 'Txn', {
          compare: [{ key: b(''), target: 'VERSION', result: 'EQUAL', version: 0 }],
        }),
        await raw.call('KV', 'Txn', {
          success: [
            { request_put: { key: b('d'), value: b('1') } },
            { request_delete_range: { key: b('a'), range_end: b('z') } },
          ],
        }),
        await raw.call('KV', 'Txn', {
          success: [
            {
              request_txn: {
                success: [{ request_put: { key: b('n'), value: b('1') } }],
                failure: [{ request_put: { key: b('n'), value: b('2') } }],
              },
            },
          ],
        }),
        await raw.call('KV', 'Put', { key: b('big'), value: Buffer.alloc(1.6 * 1024 * 1024, 1) }),
        await raw.call('KV', 'Compact', { revision: 999 }),
        await raw.call('Lease', 'LeaseRevoke', { ID: 42 }),
        await raw.call('Lease', 'LeaseGrant', { TTL: 9_000_000_001 }),
        await raw.call('Lease', 'LeaseTimeToLive', { ID: 42 }),
        await raw.call('Cluster', 'MemberRemove', { ID: 42 }),
        await raw.call('Cluster', 'MemberPromote', { ID: 42 }),
        await raw.call('Maintenance', 'MoveLeader', { targetID: 42 }),
        await raw.call('Auth', 'Authenticate', { name: 'root', password: 'x' }),
        await raw.call('Auth', 'AuthEnable', {}),
        await raw.call('Auth', 'UserGet', { name: 'bob' }),
      ]);
      // A message larger than the transport allows is refused by gRPC, without harm to the server.
      const huge = await rawOurs.call('KV', 'Put', {
        key: b('huge'),
        value: Buffer.alloc(3 * 1024 * 1024, 1),
      });
      assert.equal(huge.code, grpc.status.RESOURCE_EXHAUSTED);
      // Enum values outside the protocol: a clear error, not a crash.
      const badSort = await rawOurs.call('KV', 'Range', { key: b('a'), sort_order: 9 });
      assert.deepEqual(badSort, {
        code: grpc.status.INVALID_ARGUMENT,
        details: 'etcdserver: invalid sort option',
      });
      const badCompare = await rawOurs.call('KV', 'Txn', {
        compare: [{ key: b('a'), target: 'VALUE', result: 7 }],
      });
      assert.equal(badCompare.code, grpc.status.INVALID_ARGUMENT);
      // Membership input only the server can see.
      assert.deepEqual(await rawOurs.call('Cluster', 'MemberAdd', { peerURLs: ['ftp://x:1'] }), {
        code: grpc.status.INVALID_ARGUMENT,
        details: 'etcdserver: given member URLs are invalid',
      });
      const { members } = (await rawOurs.call('Cluster', 'MemberList', {})) as {
        members: Array<{ peerURLs: string[] }>;
      };
      assert.deepEqual(await rawOurs.call('Cluster', 'MemberAdd', { peerURLs: members[0]!.peerURLs }), {
        code: grpc.status.FAILED_PRECONDITION,
        details: 'etcdserver: Peer URLs already exists',
      });
      // Bytes that are not a protobuf message at all.
      const garbage = await new Promise<grpc.ServiceError | null>((resolve) => {
        rawOurs.client('KV').makeUnaryRequest(
          '/etcdserverpb.KV/Range',
          (x: Buffer) => x,
          (x: Buffer) => x,
          Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
          (err) => resolve(err),
        );
      });
      assert.ok(garbage && garbage.code !== grpc.status.OK);
      const alive = await rawOurs.call('KV', 'Range', { key: b('a') });
      assert.ok('header' in alive);
    });

    test('one watch stream multiplexes watchers exactly as etcd does', async () => {
      await rawOurs.call('KV', 'Put', { key: b('ws/seed'), value: b('s') });
      await rawRef.call('KV', 'Put', { key: b('ws/seed'), value: b('s') });
      const script = [
        { send: { create_request: { key: b('ws/a') } }, expect: 1 },
        { send: { create_request: { key: b('ws/'), range_end: b('ws0'), prev_kv: true } }, expect: 1 },
        { send: { create_request: { key: b('ws/a'), watch_id: 7, filters: ['NOPUT'] } }, expect: 1 },
        { send: { create_request: { key: b('ws/b'), watch_id: 7 } }, expect: 1 },
        { send: { create_request: { key: b('ws/z'), range_end: b('ws/a') } }, expect: 1 },
        { put: ['ws/a', '1'] as [string, string], expect: 2 },
        { put: ['ws/a', '2'] as [string, string], expect: 2 },
        { send: { cancel_request: { watch_id: 1 } }, expect: 1 },
        { send: { cancel_request: { watch_id: 99 } }, expect: 0 },
        // Nothing answers a cancel of an unknown id: the next response is the progress report.
        { send: { progress_request: {} }, expect: 1 },
        { put: ['ws/b', '3'] as [string, string], expect: 0 },
        { send: { create_request: { key: b('ws/b'), start_revision: 1 } }, expect: 2 },
        { send: { create_request: { key: b('ws/'), range_end: b('\0') } }, expect: 1 },
        { send: { create_request: { key: b('') } }, expect: 1 },
      ];
      const [r, o] = await Promise.all([
        watchScript(ref, rawRef, script),
        watchScript(ours, rawOurs, script),
      ]);
      assert.deepEqual(o, r);
    });

    test('a watch from a compacted revision is created, then cancelled with the compact revision', async () => {
      await same(async (raw, ep) => {
        const p = (await raw.call('KV', 'Put', { key: b('wc/k'), value: b('1') })) as {
          header: { revision: string };
        };
        await raw.call('KV', 'Put', { key: b('wc/k'), value: b('2') });
        const rev = Number(p.header.revision) + 1;
        await raw.call('KV', 'Compact', { revision: rev, physical: true });
        const stream = raw.stream('Watch', 'Watch');
        const col = collector(stream);
        stream.write({ create_request: { key: b('wc/k'), start_revision: rev - 1 } });
        const got = await col.next(2);
        stream.cancel();
        // Revisions depend on what ran before on each server; keep the relation, not the number.
        const [created, canceled] = got as Array<{
          watch_id: string;
          created: boolean;
          canceled: boolean;
          compact_revision: string;
        }>;
        return normalize(ep, {
          created: [created!.created, created!.canceled],
          canceled: [
            canceled!.watch_id === created!.watch_id,
            canceled!.canceled,
            Number(canceled!.compact_revision) === rev,
          ],
        });
      });
    });

    test('lease keep-alive stream: one response per request, in order; unknown lease answers TTL 0', async () => {
      const grant = (await rawOurs.call('Lease', 'LeaseGrant', { TTL: 120 })) as { ID: string; TTL: string };
      assert.equal(grant.TTL, '120');
      const stream = rawOurs.stream('Lease', 'LeaseKeepAlive');
      const col = collector(stream);
      stream.write({ ID: grant.ID });
      stream.write({ ID: 777 });
      stream.write({ ID: grant.ID });
      const got = (await col.next(3)) as Array<{ ID: string; TTL: string }>;
      assert.deepEqual(
        got.map((r) => [r.ID, r.TTL]),
        [
          [grant.ID, '120'],
          ['777', '0'],
          [grant.ID, '120'],
        ],
      );
      stream.end();
      await new Promise<void>((resolve) => stream.on('end', resolve).on('close', resolve).resume());
      const leases = (await rawOurs.call('Lease', 'LeaseLeases', {})) as { leases: Array<{ ID: string }> };
      assert.ok(leases.leases.some((l) => l.ID === grant.ID));
    });

    test('HashKV hashes the keyspace at a revision; compact_revision follows compaction', async () => {
      const put = async (k: string, v: string) =>
        Number(
          ((await rawOurs.call('KV', 'Put', { key: b(k), value: b(v) })) as { header: { revision: string } })
            .header.revision,
        );
      const hashAt = async (revision: number) =>
        (await rawOurs.call('Maintenance', 'HashKV', { revision })) as {
          hash: number;
          compact_revision: string;
          header: { revision: string };
        };
      const r1 = await put('h/a', '1');
      const h1 = await hashAt(r1);
      assert.equal((await hashAt(r1)).hash, h1.hash);
      const r2 = await put('h/a', '2');
      const h2 = await hashAt(0);
      assert.notEqual(h2.hash, h1.hash);
      assert.equal((await hashAt(r1)).hash, h1.hash);
      assert.equal((await hashAt(r2)).hash, h2.hash);
      await rawOurs.call('KV', 'Compact', { revision: r2, physical: true });
      const after = await hashAt(0);
      assert.equal(after.compact_revision, String(r2));
      assert.equal(after.hash, h2.hash);
      assert.deepEqual(await rawOurs.call('Maintenance', 'HashKV', { revision: r1 }), {
        code: grpc.status.OUT_OF_RANGE,
        details: 'etcdserver: mvcc: required revision has been compacted',
      });
      const whole = (await rawOurs.call('Maintenance', 'Hash', {})) as { hash: number };
      assert.equal(whole.hash, h2.hash);
    });

    test('status, alarms, defragment and snapshot answer over raw gRPC', async () => {
      const status = (await rawOurs.call('Maintenance', 'Status', {})) as Record<string, unknown>;
      assert.equal(status.leader, ours.memberId);
      assert.equal((status.header as { member_id: string }).member_id, ours.memberId);
      assert.deepEqual((await rawOurs.call('Maintenance', 'Alarm', { action: 'GET' })).alarms, []);
      assert.ok('header' in (await rawOurs.call('Maintenance', 'Defragment', {})));
      const snap = (
        rawOurs.client('Maintenance') as unknown as {
          Snapshot(r: object): grpc.ClientReadableStream<{ blob: Buffer; remaining_bytes: string }>;
        }
      ).Snapshot({});
      const chunks: Array<{ blob: Buffer; remaining_bytes: string }> = [];
      await new Promise<void>((resolve, reject) => {
        snap.on('data', (c: { blob: Buffer; remaining_bytes: string }) => chunks.push(c));
        snap.on('end', resolve);
        snap.on('error', reject);
      });
      const body = Buffer.concat(chunks.slice(0, -1).map((c) => c.blob));
      const sha = chunks.at(-1)!.blob;
      const { createHash } = await import('node:crypto');
      assert.deepEqual(sha, createHash('sha256').update(body).digest());
      assert.equal(body.length % 512, 0);
      assert.equal(chunks.at(-2)!.remaining_bytes, '0');
    });
  });
}

describe('etcd gRPC server lifecycle', () => {
  test('close() ends open watch streams and releases the port', async () => {
    const target = await startUnderTest(proxyBackend);
    const raw = new Raw(target.endpoint);
    try {
      const stream = raw.stream('Watch', 'Watch');
      const col = collector(stream);
      stream.write({ create_request: { key: b('x') } });
      await col.next(1);
      const ended = new Promise<void>((resolve) => {
        stream.on('end', resolve);
        stream.on('error', () => resolve());
      });
      await target.stop();
      await ended;
      const res = await raw.call('KV', 'Range', { key: b('x') });
      assert.equal(res.code, grpc.status.UNAVAILABLE);
    } finally {
      raw.close();
    }
  });
});
