/** Contract: transactions — compares, branches, response shapes, nesting and etcd's txn limits. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytes, text } from '../src/keys.js';
import type { Compare, CompareResult, RequestOp, ResponseOp } from '../src/types.js';
import { currentRevision, names, rejectsWith, type ContractContext } from './contract-helpers.js';

const T = { timeout: 60_000 };

/** Narrow a txn response op to its expected kind, failing with a readable message otherwise. */
function op<K extends 'range' | 'put' | 'deleteRange' | 'txn'>(
  r: ResponseOp | undefined,
  kind: K,
): Extract<ResponseOp, Record<K, unknown>>[K] {
  assert.ok(r !== undefined, `missing response op (${kind})`);
  assert.ok(kind in r, `expected a ${kind} response, got ${Object.keys(r).join(',')}`);
  return (r as Record<K, unknown>)[kind] as Extract<ResponseOp, Record<K, unknown>>[K];
}

/** Register the txn tests. */
export function txnContract(ctx: ContractContext): void {
  test('txn: compares on version, create, mod, value and lease with every result', T, async () => {
    const store = ctx.store();
    const s = ctx.space('txn-compare');
    const k = s.key('k');
    const lease = await store.leaseGrant(300);
    try {
      const c = await store.put({ key: k, value: bytes('m') });
      const m = await store.put({ key: k, value: bytes('m'), lease: lease.id });
      const created = c.header.revision;
      const modified = m.header.revision;
      const leaseNum = BigInt(lease.id);

      const holds = async (cmp: Compare): Promise<boolean> =>
        (await store.txn({ compare: [cmp], success: [], failure: [] })).succeeded;
      const results: CompareResult[] = ['equal', 'greater', 'less', 'not_equal'];
      // For the key's actual value x, compare against x-1, x and x+1: the expected truth table.
      const table = (cmpOf: (result: CompareResult, delta: -1 | 0 | 1) => Compare, what: string) =>
        Promise.all(
          results.flatMap((result) =>
            ([-1, 0, 1] as const).map(async (delta) => {
              // The compare reads as "key's field <result> operand"; operand = actual + delta.
              const expected =
                result === 'equal'
                  ? delta === 0
                  : result === 'not_equal'
                    ? delta !== 0
                    : result === 'greater'
                      ? delta < 0
                      : delta > 0;
              assert.equal(
                await holds(cmpOf(result, delta)),
                expected,
                `${what} ${result} actual${delta >= 0 ? '+' : ''}${delta}`,
              );
            }),
          ),
        );
      await table((result, d) => ({ key: k, target: 'version', result, version: 2 + d }), 'version');
      await table(
        (result, d) => ({ key: k, target: 'create', result, createRevision: created + d }),
        'create',
      );
      await table((result, d) => ({ key: k, target: 'mod', result, modRevision: modified + d }), 'mod');
      await table(
        (result, d) => ({ key: k, target: 'value', result, value: bytes(['l', 'm', 'n'][d + 1]!) }),
        'value',
      );
      await table(
        (result, d) => ({ key: k, target: 'lease', result, lease: (leaseNum + BigInt(d)).toString() }),
        'lease',
      );
      // Values compare as bytes: a prefix is smaller, a longer value is greater.
      assert.equal(
        await holds({ key: k, target: 'value', result: 'greater', value: new Uint8Array(0) }),
        true,
      );
      assert.equal(await holds({ key: k, target: 'value', result: 'less', value: bytes('m\0') }), true);

      // An empty value exists and compares as the empty byte string.
      await store.put({ key: s.key('empty'), value: new Uint8Array(0) });
      assert.equal(
        await holds({ key: s.key('empty'), target: 'value', result: 'equal', value: new Uint8Array(0) }),
        true,
      );
      assert.equal(await holds({ key: s.key('empty'), target: 'lease', result: 'equal', lease: '0' }), true);

      // A missing key has version, create, mod and lease 0; a value compare on it always fails.
      const gone = s.key('missing');
      assert.equal(await holds({ key: gone, target: 'version', result: 'equal', version: 0 }), true);
      assert.equal(await holds({ key: gone, target: 'create', result: 'equal', createRevision: 0 }), true);
      assert.equal(await holds({ key: gone, target: 'mod', result: 'less', modRevision: 1 }), true);
      assert.equal(await holds({ key: gone, target: 'lease', result: 'equal', lease: '0' }), true);
      for (const result of results) {
        assert.equal(
          await holds({ key: gone, target: 'value', result, value: bytes('') }),
          false,
          `value ${result} on a missing key`,
        );
      }

      // Several compares: all must hold.
      const both = await store.txn({
        compare: [
          { key: k, target: 'version', result: 'equal', version: 2 },
          { key: k, target: 'value', result: 'equal', value: bytes('other') },
        ],
        success: [],
        failure: [],
      });
      assert.equal(both.succeeded, false);
    } finally {
      await store.leaseRevoke(lease.id);
    }
  });

  test('txn: compare over a range holds only if it holds for every key in it', T, async () => {
    const store = ctx.store();
    const s = ctx.space('txn-range-compare');
    await store.put({ key: s.key('a'), value: bytes('1') });
    await store.put({ key: s.key('b'), value: bytes('1') });
    await store.put({ key: s.key('b'), value: bytes('2') });
    const holds = async (cmp: Compare): Promise<boolean> =>
      (await store.txn({ compare: [cmp], success: [], failure: [] })).succeeded;
    assert.equal(
      await holds({ key: s.prefix, rangeEnd: s.end, target: 'version', result: 'greater', version: 0 }),
      true,
    );
    assert.equal(
      await holds({ key: s.prefix, rangeEnd: s.end, target: 'version', result: 'equal', version: 1 }),
      false,
    );
    assert.equal(
      await holds({ key: s.prefix, rangeEnd: s.key('b'), target: 'version', result: 'equal', version: 1 }),
      true,
    );
    assert.equal(
      await holds({ key: s.prefix, rangeEnd: s.end, target: 'value', result: 'less', value: bytes('3') }),
      true,
    );
    assert.equal(
      await holds({ key: s.prefix, rangeEnd: s.end, target: 'value', result: 'equal', value: bytes('1') }),
      false,
    );
    // An empty range compares like a missing key.
    const empty = { key: s.key('x'), rangeEnd: s.key('z') };
    assert.equal(await holds({ ...empty, target: 'version', result: 'equal', version: 0 }), true);
    assert.equal(await holds({ ...empty, target: 'value', result: 'not_equal', value: bytes('1') }), false);
    // From-key compare (`\0`) over our keys only: start at the last one.
    assert.equal(
      await holds({
        key: s.key('b'),
        rangeEnd: Uint8Array.of(0),
        target: 'create',
        result: 'greater',
        createRevision: 0,
      }),
      true,
    );
  });

  test('txn: success and failure branches, response shapes, one revision for the whole txn', T, async () => {
    const store = ctx.store();
    const s = ctx.space('txn-branches');
    await store.put({ key: s.key('flag'), value: bytes('on') });
    await store.put({ key: s.key('old'), value: bytes('o1') });
    await store.put({ key: s.key('gone1'), value: bytes('g') });
    await store.put({ key: s.key('gone2'), value: bytes('g') });
    const r0 = await currentRevision(store, s.key('flag'));

    const ops: RequestOp[] = [
      { put: { key: s.key('new'), value: bytes('n1') } },
      { put: { key: s.key('old'), value: bytes('o2'), prevKv: true } },
      { range: { key: s.prefix, rangeEnd: s.end } },
      { deleteRange: { key: s.key('gone'), rangeEnd: s.key('gonf'), prevKv: true } },
      { range: { key: s.key('new') } },
    ];
    const ok = await store.txn({
      compare: [{ key: s.key('flag'), target: 'value', result: 'equal', value: bytes('on') }],
      success: ops,
      failure: [{ put: { key: s.key('failure-ran'), value: bytes('1') } }],
    });
    assert.equal(ok.succeeded, true);
    assert.equal(ok.header.revision, r0 + 1, 'one revision for every write of the txn');
    assert.equal(ok.responses.length, 5);
    const put0 = op(ok.responses[0], 'put');
    assert.equal(put0.prevKv, undefined);
    const put1 = op(ok.responses[1], 'put');
    assert.equal(text(put1.prevKv!.value), 'o1');
    // Reads inside a txn see the txn's earlier writes.
    const rng = op(ok.responses[2], 'range');
    assert.deepEqual(names(s, rng.kvs), ['flag', 'gone1', 'gone2', 'new', 'old']);
    assert.equal(rng.count, 5);
    assert.equal(text(rng.kvs.find((kv) => s.name(kv.key) === 'old')!.value), 'o2');
    const del = op(ok.responses[3], 'deleteRange');
    assert.equal(del.deleted, 2);
    assert.deepEqual(names(s, del.prevKvs), ['gone1', 'gone2']);
    const after = op(ok.responses[4], 'range');
    assert.deepEqual(
      [after.kvs[0]!.modRevision, after.kvs[0]!.createRevision, after.kvs[0]!.version],
      [r0 + 1, r0 + 1, 1],
    );

    const now = await store.range({ key: s.prefix, rangeEnd: s.end });
    assert.deepEqual(names(s, now.kvs), ['flag', 'new', 'old']);
    const mods = now.kvs.filter((kv) => s.name(kv.key) !== 'flag').map((kv) => kv.modRevision);
    assert.deepEqual(mods, [r0 + 1, r0 + 1]);
    assert.equal(now.header.revision, r0 + 1);

    // The failure branch runs when a compare fails.
    const no = await store.txn({
      compare: [{ key: s.key('flag'), target: 'value', result: 'equal', value: bytes('off') }],
      success: [{ put: { key: s.key('success-ran'), value: bytes('1') } }],
      failure: [{ put: { key: s.key('failure-ran'), value: bytes('1') } }, { range: { key: s.key('flag') } }],
    });
    assert.equal(no.succeeded, false);
    assert.equal(no.header.revision, r0 + 2);
    assert.equal(no.responses.length, 2);
    op(no.responses[0], 'put');
    assert.equal(text(op(no.responses[1], 'range').kvs[0]!.value), 'on');
    assert.equal((await store.range({ key: s.key('success-ran') })).count, 0);
    assert.equal((await store.range({ key: s.key('failure-ran') })).count, 1);

    // An empty txn succeeds, answers nothing, and writes nothing.
    const empty = await store.txn({ compare: [], success: [], failure: [] });
    assert.deepEqual([empty.succeeded, empty.responses.length, empty.header.revision], [true, 0, r0 + 2]);
  });

  test('txn: nested txn answers with its own succeeded and responses, in the same revision', T, async () => {
    const store = ctx.store();
    const s = ctx.space('txn-nested');
    await store.put({ key: s.key('x'), value: bytes('1') });
    const r0 = await currentRevision(store, s.key('x'));
    const res = await store.txn({
      compare: [{ key: s.key('x'), target: 'version', result: 'equal', version: 1 }],
      success: [
        { put: { key: s.key('outer'), value: bytes('o') } },
        {
          txn: {
            compare: [{ key: s.key('x'), target: 'value', result: 'equal', value: bytes('nope') }],
            success: [{ put: { key: s.key('inner-success'), value: bytes('s') } }],
            failure: [
              { put: { key: s.key('inner-failure'), value: bytes('f') } },
              { range: { key: s.key('outer') } },
            ],
          },
        },
      ],
      failure: [],
    });
    assert.equal(res.succeeded, true);
    assert.equal(res.header.revision, r0 + 1);
    op(res.responses[0], 'put');
    const inner = op(res.responses[1], 'txn');
    assert.equal(inner.succeeded, false);
    assert.equal(inner.responses.length, 2);
    op(inner.responses[0], 'put');
    const seen = op(inner.responses[1], 'range');
    assert.equal(text(seen.kvs[0]!.value), 'o', 'the nested txn sees the outer write');
    const now = await store.range({ key: s.prefix, rangeEnd: s.end });
    assert.deepEqual(names(s, now.kvs), ['inner-failure', 'outer', 'x']);
    assert.ok(now.kvs.filter((kv) => s.name(kv.key) !== 'x').every((kv) => kv.modRevision === r0 + 1));
  });

  test('txn: the same key written twice in one txn is duplicateKey; nothing is written', T, async () => {
    const store = ctx.store();
    const s = ctx.space('txn-duplicate');
    await store.put({ key: s.key('a'), value: bytes('0') });
    const r0 = await currentRevision(store, s.key('a'));
    const put = (n: string): RequestOp => ({ put: { key: s.key(n), value: bytes('v') } });
    const attempts: RequestOp[][] = [
      [put('a'), put('a')],
      [put('a'), { deleteRange: { key: s.prefix, rangeEnd: s.end } }],
      [{ deleteRange: { key: s.key('a') } }, put('a')],
      [put('a'), { txn: { compare: [], success: [put('a')], failure: [] } }],
    ];
    for (const success of attempts) {
      await rejectsWith(store.txn({ compare: [], success, failure: [] }), 'duplicateKey');
    }
    assert.equal(await currentRevision(store, s.key('a')), r0);
    assert.equal(text((await store.range({ key: s.key('a') })).kvs[0]!.value), '0');
    // Reading and writing one key, or writing it in both branches, is allowed.
    const fine = await store.txn({
      compare: [],
      success: [put('a'), { range: { key: s.key('a') } }],
      failure: [put('a')],
    });
    assert.equal(fine.succeeded, true);
    assert.equal(fine.header.revision, r0 + 1);
    // Two deletes over the same keys are allowed too.
    const dels = await store.txn({
      compare: [],
      success: [{ deleteRange: { key: s.key('a') } }, { deleteRange: { key: s.prefix, rangeEnd: s.end } }],
      failure: [],
    });
    assert.equal(op(dels.responses[0], 'deleteRange').deleted, 1);
    assert.equal(op(dels.responses[1], 'deleteRange').deleted, 0);
  });

  test('txn: a failing operation fails the whole txn; nothing of it is written', T, async () => {
    const store = ctx.store();
    const s = ctx.space('txn-atomic');
    await store.put({ key: s.key('x'), value: bytes('0') });
    const r0 = await currentRevision(store, s.key('x'));
    const first: RequestOp = { put: { key: s.key('a'), value: bytes('1') } };
    const del: RequestOp = { deleteRange: { key: s.key('x') } };
    await rejectsWith(
      store.txn({
        compare: [],
        success: [first, del, { put: { key: s.key('b'), value: bytes('1'), lease: '918273645' } }],
        failure: [],
      }),
      'leaseNotFound',
    );
    await rejectsWith(
      store.txn({
        compare: [],
        success: [
          first,
          del,
          { put: { key: s.key('missing'), value: new Uint8Array(0), ignoreValue: true } },
        ],
        failure: [],
      }),
      'keyNotFound',
    );
    await rejectsWith(
      store.txn({
        compare: [{ key: s.key('x'), target: 'version', result: 'equal', version: 5 }],
        success: [],
        failure: [first, { put: { key: new Uint8Array(0), value: bytes('1') } }],
      }),
      'emptyKey',
    );
    assert.equal(await currentRevision(store, s.key('x')), r0);
    const now = await store.range({ key: s.prefix, rangeEnd: s.end });
    assert.deepEqual(names(s, now.kvs), ['x']);
  });

  test('txn: more than 128 operations in a branch is tooManyOps; 128 is fine', T, async () => {
    const store = ctx.store();
    const s = ctx.space('txn-too-many');
    const puts = (n: number): RequestOp[] =>
      Array.from({ length: n }, (_, i) => ({
        put: { key: s.key(`k${String(i).padStart(3, '0')}`), value: bytes('v') },
      }));
    const r0 = await currentRevision(store, s.prefix);
    await rejectsWith(store.txn({ compare: [], success: puts(129), failure: [] }), 'tooManyOps');
    await rejectsWith(store.txn({ compare: [], success: [], failure: puts(129) }), 'tooManyOps');
    const compares: Compare[] = Array.from({ length: 129 }, () => ({
      key: s.key('c'),
      target: 'version',
      result: 'equal',
      version: 0,
    }));
    await rejectsWith(store.txn({ compare: compares, success: [], failure: [] }), 'tooManyOps');
    assert.equal(await currentRevision(store, s.prefix), r0);
    const ok = await store.txn({ compare: compares.slice(0, 128), success: puts(128), failure: [] });
    assert.equal(ok.succeeded, true);
    assert.equal(ok.responses.length, 128);
    assert.equal(ok.header.revision, r0 + 1);
    const all = await store.range({ key: s.prefix, rangeEnd: s.end, countOnly: true });
    assert.equal(all.count, 128);
  });
}
