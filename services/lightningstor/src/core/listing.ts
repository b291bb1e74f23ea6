/**
 * One page of a ListObjects/ListObjectVersions listing: prefix, delimiter roll-up into CommonPrefixes,
 * max-keys, and where the next page starts. The storage supplies a sorted scan; this is pure.
 */

/** Sorted scan of keys ≥ `from` (UTF-8 order), each with its value. */
export type Scan<T> = (from: string) => Iterable<readonly [string, T]>;

/** Listing parameters. */
export interface ListOptions {
  prefix: string;
  delimiter: string;
  maxKeys: number;
  /** Exclusive lower bound (marker / start-after / decoded continuation token), '' for none. */
  after: string;
}

/** One page. */
export interface ListPage<T> {
  contents: Array<readonly [string, T]>;
  commonPrefixes: string[];
  truncated: boolean;
  /** The last key or common prefix returned (the V1 NextMarker, the V2 continuation point). */
  last: string | undefined;
}

/** The smallest string greater than every string that starts with `s`. */
export function successor(s: string): string {
  if (s === '') return '';
  return s.slice(0, -1) + String.fromCharCode(s.charCodeAt(s.length - 1) + 1);
}

/** Compute a page. `maxKeys` 0 returns an empty, untruncated page (as S3 does). */
export function listPage<T>(scan: Scan<T>, o: ListOptions): ListPage<T> {
  const page: ListPage<T> = { contents: [], commonPrefixes: [], truncated: false, last: undefined };
  if (o.maxKeys <= 0) return page;
  let from = o.prefix;
  let exclusive: string | undefined;
  if (o.after !== '' && o.after >= from) {
    // A marker that is itself a rolled-up prefix resumes after everything under it.
    if (o.delimiter !== '' && o.after.startsWith(o.prefix) && o.after.endsWith(o.delimiter)) {
      from = successor(o.after);
    } else {
      from = o.after;
      exclusive = o.after;
    }
  }
  let count = 0;
  for (;;) {
    let jumped = false;
    for (const entry of scan(from)) {
      const key = entry[0];
      if (key === exclusive) continue;
      if (!key.startsWith(o.prefix)) return page;
      let cp: string | undefined;
      if (o.delimiter !== '') {
        const i = key.indexOf(o.delimiter, o.prefix.length);
        if (i >= 0) cp = key.slice(0, i + o.delimiter.length);
      }
      if (count >= o.maxKeys) {
        page.truncated = true;
        return page;
      }
      count++;
      if (cp !== undefined) {
        page.commonPrefixes.push(cp);
        page.last = cp;
        from = successor(cp);
        exclusive = undefined;
        jumped = true;
        break;
      }
      page.contents.push(entry);
      page.last = key;
    }
    if (!jumped) return page;
  }
}
