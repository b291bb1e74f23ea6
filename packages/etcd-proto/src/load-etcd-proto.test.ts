import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadEtcdProto } from './index.js';

test('loads every etcd v3 service with the methods etcd 3.4 serves', () => {
  const { services } = loadEtcdProto();
  const methods = Object.fromEntries(
    Object.entries(services).map(([name, def]) => [
      name,
      Object.values(def)
        .map((m) => m.path)
        .sort(),
    ]),
  );
  assert.deepEqual(methods.KV, [
    '/etcdserverpb.KV/Compact',
    '/etcdserverpb.KV/DeleteRange',
    '/etcdserverpb.KV/Put',
    '/etcdserverpb.KV/Range',
    '/etcdserverpb.KV/Txn',
  ]);
  assert.deepEqual(methods.Watch, ['/etcdserverpb.Watch/Watch']);
  assert.equal(services.Watch.Watch!.requestStream, true);
  assert.equal(services.Watch.Watch!.responseStream, true);
  assert.equal(services.Lease.LeaseKeepAlive!.requestStream, true);
  assert.equal(services.Maintenance.Snapshot!.responseStream, true);
  assert.equal(methods.Lease!.length, 5);
  assert.equal(methods.Cluster!.length, 5);
  assert.equal(methods.Maintenance!.length, 7);
  assert.equal(methods.Auth!.length, 16);
});

test('encodes to the wire bytes etcd expects and decodes with the chosen conventions', () => {
  const put = loadEtcdProto().services.KV.Put!;
  const wire = put.requestSerialize({
    key: Buffer.from('k'),
    value: Buffer.from('v'),
    lease: '7587862154318210561',
  });
  // field 1 (key, len-delimited) "k", field 2 (value) "v", field 3 (lease, varint).
  assert.equal(wire.subarray(0, 6).toString('hex'), '0a016b120176');
  assert.equal(wire[6], 0x18);
  const back = put.requestDeserialize(wire) as Record<string, unknown>;
  assert.deepEqual(back, {
    key: Buffer.from('k'),
    value: Buffer.from('v'),
    lease: '7587862154318210561',
    prev_kv: false,
    ignore_value: false,
    ignore_lease: false,
  });

  const txn = loadEtcdProto().services.KV.Txn!;
  const decoded = txn.requestDeserialize(
    txn.requestSerialize({
      compare: [
        {
          key: Buffer.from('a'),
          target: 'MOD',
          result: 'LESS',
          mod_revision: 5,
          range_end: Buffer.from('b'),
        },
      ],
      success: [{ request_put: { key: Buffer.from('a'), value: Buffer.from('1') } }],
    }),
  ) as { compare: Array<Record<string, unknown>>; success: Array<Record<string, unknown>> };
  assert.equal(decoded.compare[0]!.target_union, 'mod_revision');
  assert.equal(decoded.compare[0]!.mod_revision, '5');
  assert.equal(decoded.compare[0]!.target, 'MOD');
  assert.deepEqual(decoded.compare[0]!.range_end, Buffer.from('b'));
  assert.equal(decoded.success[0]!.request, 'request_put');
});
