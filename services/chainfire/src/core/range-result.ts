/**
 * Range post-processing with etcd's semantics: revision filters, sorting, limit/more, keysOnly.
 * `count` is the number of keys in the range at the read revision, before filters and limit.
 */
import { compareBytes } from '@photoncloud/store';
import type { KeyValue, SortTarget } from '@photoncloud/store';
import type { NormRange } from './requests.js';

/** Whether the request needs every key (sorting or filtering) rather than the first limit+1. */
export function needsFullScan(r: NormRange): boolean {
  return (
    r.sortOrder !== 'none' ||
    r.sortTarget !== 'key' ||
    r.minModRevision !== 0 ||
    r.maxModRevision !== 0 ||
    r.minCreateRevision !== 0 ||
    r.maxCreateRevision !== 0
  );
}

/**
 * How many key-ordered KVs the storage scan must materialise: 0 = none (countOnly), Infinity = all.
 * One more than `limit` is enough to know whether there is `more`.
 */
export function materializeLimit(r: NormRange): number {
  if (r.countOnly) return 0;
  if (r.limit > 0 && !needsFullScan(r)) return r.limit + 1;
  return Infinity;
}

function byTarget(t: SortTarget): (a: KeyValue, b: KeyValue) => number {
  switch (t) {
    case 'key':
      return (a, b) => compareBytes(a.key, b.key);
    case 'version':
      return (a, b) => a.version - b.version;
    case 'create':
      return (a, b) => a.createRevision - b.createRevision;
    case 'mod':
      return (a, b) => a.modRevision - b.modRevision;
    case 'value':
      return (a, b) => compareBytes(a.value, b.value);
  }
}

/**
 * Turn the key-ordered KVs of a scan into the response's `kvs` and `more`.
 * `kvs` must be in ascending key order (as stored).
 */
export function finishRange(scanned: KeyValue[], r: NormRange): { kvs: KeyValue[]; more: boolean } {
  if (r.countOnly) return { kvs: [], more: false };
  let kvs = scanned;
  if (r.maxModRevision !== 0) kvs = kvs.filter((kv) => kv.modRevision <= r.maxModRevision);
  if (r.minModRevision !== 0) kvs = kvs.filter((kv) => kv.modRevision >= r.minModRevision);
  if (r.maxCreateRevision !== 0) kvs = kvs.filter((kv) => kv.createRevision <= r.maxCreateRevision);
  if (r.minCreateRevision !== 0) kvs = kvs.filter((kv) => kv.createRevision >= r.minCreateRevision);
  // etcd: a non-key target without an order sorts ascending; key order is already what a scan gives.
  let order = r.sortOrder;
  if (order === 'none' && r.sortTarget !== 'key') order = 'ascend';
  if (order !== 'none' && !(order === 'ascend' && r.sortTarget === 'key')) {
    const cmp = byTarget(r.sortTarget);
    // Array.prototype.sort is stable: ties stay in key order.
    kvs = [...kvs].sort(order === 'ascend' ? cmp : (a, b) => cmp(b, a));
  }
  let more = false;
  if (r.limit > 0 && kvs.length > r.limit) {
    kvs = kvs.slice(0, r.limit);
    more = true;
  }
  if (r.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: new Uint8Array(0) }));
  return { kvs, more };
}
