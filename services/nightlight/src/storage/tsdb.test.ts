import { strict as assert } from 'node:assert';
import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '@photoncloud/test-utils';
import type { Matcher } from '../core/promql/ast.js';
import { labelsFromRecord } from '../core/promql/labels.js';
import { AppendError, Tsdb } from './tsdb.js';

const sel = (name: string): Matcher[] => [{ name: '__name__', type: '=', value: name }];

function points(db: Tsdb, name: string, mint = -Infinity, maxt = Infinity): [number, number][] {
  const s = db.select(sel(name), mint, maxt);
  assert.ok(s.length <= 1);
  const x = s[0];
  return x ? Array.from(x.t, (t, i) => [t, x.v[i] as number]) : [];
}

test('samples survive a reopen through WAL replay, and a torn WAL tail is cut off', async () => {
  const dir = await tempDir('tsdb-');
  try {
    let db = Tsdb.open({ dir: dir.path });
    await db.append([
      {
        labels: labelsFromRecord({ __name__: 'm', a: '1' }),
        samples: [
          { t: 1, v: 1 },
          { t: 2, v: 2.5 },
          { t: 3, v: NaN, stale: true },
          { t: 4, v: Infinity },
        ],
      },
    ]);
    await db.close();
    appendFileSync(join(dir.path, 'wal.log'), Buffer.from([200, 0, 0, 0, 1, 2, 3])); // a torn record
    db = Tsdb.open({ dir: dir.path });
    const s = db.select(sel('m'), -Infinity, Infinity)[0];
    assert.ok(s);
    assert.deepEqual(Array.from(s.t), [1, 2, 3, 4]);
    assert.deepEqual(Array.from(s.v).slice(0, 2), [1, 2.5]);
    assert.equal(s.v[3], Infinity);
    assert.deepEqual(Array.from(s.stale ?? []), [0, 0, 1, 0], 'the staleness marker survives');
    await db.append([{ labels: labelsFromRecord({ __name__: 'm', a: '1' }), samples: [{ t: 5, v: 5 }] }]);
    await db.close();
    db = Tsdb.open({ dir: dir.path });
    assert.deepEqual(
      points(db, 'm').map(([t]) => t),
      [1, 2, 3, 4, 5],
    );
    await db.close();
  } finally {
    await dir.cleanup();
  }
});

test('out-of-order samples are rejected; same timestamp and value is accepted, a different value is an error', async () => {
  const dir = await tempDir('tsdb-');
  try {
    const db = Tsdb.open({ dir: dir.path });
    const labels = labelsFromRecord({ __name__: 'd' });
    await db.append([{ labels, samples: [{ t: 10, v: 1 }] }]);
    await db.append([{ labels, samples: [{ t: 10, v: 1 }] }]);
    await assert.rejects(
      db.append([{ labels, samples: [{ t: 10, v: 2 }] }]),
      (e: unknown) => e instanceof AppendError && e.kind === 'duplicate',
    );
    await assert.rejects(
      db.append([{ labels, samples: [{ t: 5, v: 2 }] }]),
      (e: unknown) => e instanceof AppendError && e.kind === 'out_of_order',
    );
    await assert.rejects(
      db.append([{ labels: labelsFromRecord({ 'bad-name': 'x' }), samples: [{ t: 5, v: 2 }] }]),
      (e: unknown) => e instanceof AppendError && e.kind === 'invalid',
    );
    const r = await db.append(
      [
        {
          labels,
          samples: [
            { t: 5, v: 2 },
            { t: 20, v: 3 },
          ],
        },
      ],
      { skipInvalid: true },
    );
    assert.deepEqual(r, { samples: 1, rejected: 1 });
    assert.deepEqual(points(db, 'd'), [
      [10, 1],
      [20, 3],
    ]);
    await db.close();
  } finally {
    await dir.cleanup();
  }
});

test('head compaction writes blocks, queries span blocks and head, blocks merge and expire', async () => {
  const dir = await tempDir('tsdb-');
  try {
    const range = 1000;
    let db = Tsdb.open({ dir: dir.path, blockRange: range, retention: 7000 });
    const want: [number, number][] = [];
    for (let t = 0; t < 12_000; t += 50) {
      await db.append([
        { labels: labelsFromRecord({ __name__: 'c', job: 'j' }), samples: [{ t, v: t / 10 }] },
      ]);
      want.push([t, t / 10]);
    }
    const r1 = await db.compact();
    assert.ok(r1.headBlocks >= 9, `expected head blocks, got ${JSON.stringify(r1)}`);
    assert.ok(r1.merged >= 2, 'blocks within each 3-range window are merged');
    const metas = db.blockMetas();
    assert.ok(metas.some((m) => m.level === 2));
    // Retention (7 s before the newest sample) has dropped the oldest blocks.
    assert.ok(r1.deleted >= 1, `expected expired blocks, got ${JSON.stringify(r1)}`);
    const oldest = Math.min(...db.blockMetas().map((m) => m.minTime));
    const kept = want.filter(([t]) => t >= oldest);
    assert.deepEqual(points(db, 'c'), kept);
    assert.deepEqual(points(db, 'c', 9000, 9100), [
      [9000, 900],
      [9050, 905],
      [9100, 910],
    ]);
    await assert.rejects(
      db.append([{ labels: labelsFromRecord({ __name__: 'c', job: 'j' }), samples: [{ t: 100, v: 1 }] }]),
      (e: unknown) => e instanceof AppendError && e.kind === 'out_of_bounds',
    );
    await db.close();
    db = Tsdb.open({ dir: dir.path, blockRange: range, retention: 7000 });
    assert.deepEqual(points(db, 'c'), kept, 'blocks and the checkpointed WAL reopen to the same data');
    assert.deepEqual(db.labelSets(sel('c'), 9000, 9100), [labelsFromRecord({ __name__: 'c', job: 'j' })]);
    await db.close();
    assert.ok(readdirSync(join(dir.path, 'blocks')).every((n) => !n.endsWith('.tmp')));
  } finally {
    await dir.cleanup();
  }
});
