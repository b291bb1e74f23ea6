import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Matcher } from '../core/promql/ast.js';
import type { Queryable, RawSeries } from '../core/promql/engine.js';
import type { Labels } from '../core/promql/labels.js';
import { getLabel, isValidLabelName, labelsFromPairs, labelsKey } from '../core/promql/labels.js';
import { matcherMatches } from '../core/promql/parser.js';
import type { ChunkSample } from '../core/xor-chunk.js';
import { decodeXorChunk, XorChunkEncoder } from '../core/xor-chunk.js';
import type { BlockSeriesInput, ChunkRef } from './block.js';
import { Block, openBlocks } from './block.js';
import { Wal } from './wal.js';

/** One sample to append; `stale` marks a staleness marker. */
export interface AppendSample {
  readonly t: number;
  readonly v: number;
  readonly stale?: boolean;
}

/** Samples of one series to append. */
export interface AppendSeries {
  readonly labels: Labels;
  readonly samples: readonly AppendSample[];
}

/** Why an append was rejected (Prometheus' storage errors). */
export type AppendErrorKind = 'out_of_order' | 'out_of_bounds' | 'duplicate' | 'invalid';

/** A rejected append; nothing of the batch was stored. */
export class AppendError extends Error {
  constructor(
    readonly kind: AppendErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'AppendError';
  }
}

/** TSDB settings. */
export interface TsdbOptions {
  readonly dir: string;
  /** Range of a head-compacted block (ms); Prometheus' default is 2 h. */
  readonly blockRange?: number;
  /** Blocks entirely older than the newest sample minus this are deleted (ms); default 15 d. */
  readonly retention?: number;
}

function formatKey(key: string): string {
  return (
    '{' +
    key
      .split('\xfe')
      .filter((p) => p !== '')
      .map((p) => p.replace('\xff', '='))
      .join(', ') +
    '}'
  );
}

function validLabels(labels: Labels): boolean {
  if (labels.length === 0) throw new AppendError('invalid', 'empty labelset');
  const names = new Set<string>();
  for (const l of labels) {
    if (!isValidLabelName(l.name))
      throw new AppendError('invalid', `invalid label name ${JSON.stringify(l.name)}`);
    if (names.has(l.name)) throw new AppendError('invalid', `duplicate label name ${JSON.stringify(l.name)}`);
    names.add(l.name);
  }
  return true;
}

/** Samples per head chunk before it is sealed (as Prometheus). */
const CHUNK_SAMPLES = 120;

interface HeadSeries {
  readonly ref: number;
  readonly labels: Labels;
  readonly key: string;
  sealed: ChunkRef[];
  t: number[];
  v: number[];
  stale: number[];
  lastT: number;
  lastV: number;
  lastStale: boolean;
}

function sameValue(a: number, aStale: boolean, b: number, bStale: boolean): boolean {
  if (aStale || bStale) return aStale === bStale;
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

function encodeChunk(samples: readonly ChunkSample[]): ChunkRef {
  const enc = new XorChunkEncoder();
  for (const s of samples) enc.append(s.t, s.v, s.stale);
  const first = samples[0] as ChunkSample;
  const last = samples[samples.length - 1] as ChunkSample;
  return { mint: first.t, maxt: last.t, count: samples.length, data: enc.bytes() };
}

function encodeValue(v: number, stale: boolean): number | string {
  if (stale) return 'S';
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Inf';
  if (v === -Infinity) return '-Inf';
  return v;
}

function decodeValue(x: number | string): [number, boolean] {
  if (typeof x === 'number') return [x, false];
  if (x === 'S') return [NaN, true];
  if (x === 'Inf') return [Infinity, false];
  if (x === '-Inf') return [-Infinity, false];
  return [NaN, false];
}

type WalRecord = { s: [number, [string, string][]][] } | { p: (number | string)[] };

/**
 * The time series database: an in-memory head (WAL-backed, replayed on open) in front of
 * immutable on-disk blocks. Head data older than 1.5 block ranges is cut into blocks; blocks are
 * merged three ranges at a time and dropped after the retention period.
 */
export class Tsdb implements Queryable {
  private readonly series = new Map<string, HeadSeries>();
  private readonly byRef = new Map<number, HeadSeries>();
  private readonly postings = new Map<string, Set<number>>();
  private nextRef = 1;
  private headMin = Infinity;
  private headMax = -Infinity;
  /** Samples older than this belong to blocks; the head rejects them. */
  private minValidTime = -Infinity;
  private blocks: Block[] = [];
  private compacting = false;
  private readonly blockRange: number;
  private readonly retention: number;
  private readonly blocksDir: string;

  private constructor(
    private readonly wal: Wal,
    opts: TsdbOptions,
  ) {
    this.blockRange = opts.blockRange ?? 2 * 3_600_000;
    this.retention = opts.retention ?? 15 * 86_400_000;
    this.blocksDir = join(opts.dir, 'blocks');
  }

  /** Opens the database in dir: loads blocks and replays the WAL. */
  static open(opts: TsdbOptions): Tsdb {
    mkdirSync(join(opts.dir, 'blocks'), { recursive: true });
    const { wal, records } = Wal.open(join(opts.dir, 'wal.log'));
    const db = new Tsdb(wal, opts);
    let blocks = openBlocks(db.blocksDir);
    // A crash between writing a merged block and deleting its sources leaves both: drop the sources.
    const replaced = new Set(blocks.flatMap((b) => (b.meta.sources.length > 1 ? b.meta.sources : [])));
    blocks = blocks.filter((b) => {
      if (replaced.has(b.meta.id) && b.meta.sources.length <= 1) {
        b.remove();
        return false;
      }
      return true;
    });
    db.blocks = blocks;
    for (const b of blocks) db.minValidTime = Math.max(db.minValidTime, b.meta.maxTime);
    db.replay(records);
    return db;
  }

  private replay(records: Buffer[]): void {
    const refMap = new Map<number, HeadSeries>();
    for (const buf of records) {
      const rec = JSON.parse(buf.toString('utf8')) as WalRecord;
      if ('s' in rec) {
        for (const [walRef, pairs] of rec.s) refMap.set(walRef, this.getOrCreate(labelsFromPairs(pairs)));
      } else {
        const p = rec.p;
        for (let i = 0; i + 2 < p.length; i += 3) {
          const s = refMap.get(p[i] as number);
          const t = p[i + 1] as number;
          if (!s || t < this.minValidTime) continue; // already persisted in a block
          const [v, stale] = decodeValue(p[i + 2] as number | string);
          if (s.t.length + s.sealed.length > 0 && t <= s.lastT) continue;
          this.appendToSeries(s, t, v, stale);
        }
      }
    }
  }

  private getOrCreate(labels: Labels): HeadSeries {
    const key = labelsKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = {
        ref: this.nextRef++,
        labels,
        key,
        sealed: [],
        t: [],
        v: [],
        stale: [],
        lastT: -Infinity,
        lastV: NaN,
        lastStale: false,
      };
      this.series.set(key, s);
      this.byRef.set(s.ref, s);
      for (const l of labels) {
        const pk = l.name + '\xff' + l.value;
        let set = this.postings.get(pk);
        if (!set) this.postings.set(pk, (set = new Set()));
        set.add(s.ref);
      }
    }
    return s;
  }

  private appendToSeries(s: HeadSeries, t: number, v: number, stale: boolean): void {
    s.t.push(t);
    s.v.push(v);
    s.stale.push(stale ? 1 : 0);
    s.lastT = t;
    s.lastV = v;
    s.lastStale = stale;
    if (t < this.headMin) this.headMin = t;
    if (t > this.headMax) this.headMax = t;
    if (s.t.length >= CHUNK_SAMPLES) this.seal(s);
  }

  private seal(s: HeadSeries): void {
    if (s.t.length === 0) return;
    s.sealed.push(encodeChunk(s.t.map((t, i) => ({ t, v: s.v[i] as number, stale: s.stale[i] === 1 }))));
    s.t = [];
    s.v = [];
    s.stale = [];
  }

  /**
   * Appends a batch atomically: either every sample is stored (and durable in the WAL when the
   * promise resolves) or none is and an AppendError says why. Same timestamp and same value as the
   * newest sample is accepted and ignored; same timestamp with another value is a duplicate error.
   */
  async append(
    batch: readonly AppendSeries[],
    opts: { skipInvalid?: boolean } = {},
  ): Promise<{ samples: number; rejected: number }> {
    // Validate the whole batch first so that a rejected request leaves nothing behind. With
    // skipInvalid (scraping), bad samples are dropped one by one instead, as Prometheus' scraper does.
    const plan: { labels: Labels; key: string; samples: AppendSample[] }[] = [];
    const lastInBatch = new Map<string, { t: number; v: number; stale: boolean }>();
    let rejected = 0;
    const check = (fn: () => boolean): boolean => {
      if (!opts.skipInvalid) return fn();
      try {
        return fn();
      } catch (err) {
        if (!(err instanceof AppendError)) throw err;
        rejected++;
        return false;
      }
    };
    for (const item of batch) {
      if (!check(() => validLabels(item.labels))) continue;
      const key = labelsKey(item.labels);
      const head = this.series.get(key);
      const keep: AppendSample[] = [];
      for (const smp of item.samples) {
        const ok = check(() => {
          if (!Number.isInteger(smp.t)) throw new AppendError('invalid', `invalid timestamp ${smp.t}`);
          if (smp.t < this.minValidTime)
            throw new AppendError(
              'out_of_bounds',
              `out of bounds: sample at ${smp.t} is older than ${this.minValidTime}`,
            );
          const prev =
            lastInBatch.get(key) ??
            (head && head.lastT !== -Infinity
              ? { t: head.lastT, v: head.lastV, stale: head.lastStale }
              : undefined);
          const stale = smp.stale === true;
          if (prev && smp.t < prev.t)
            throw new AppendError(
              'out_of_order',
              `out of order sample for series ${formatKey(key)} at ${smp.t}`,
            );
          if (prev && smp.t === prev.t) {
            if (sameValue(smp.v, stale, prev.v, prev.stale)) return false;
            throw new AppendError(
              'duplicate',
              `duplicate sample for timestamp ${smp.t} with a different value for series ${formatKey(key)}`,
            );
          }
          return true;
        });
        if (!ok) continue;
        keep.push(smp);
        lastInBatch.set(key, { t: smp.t, v: smp.v, stale: smp.stale === true });
      }
      plan.push({ labels: item.labels, key, samples: keep });
    }
    // Apply to the head and log to the WAL; acknowledge only after the WAL is durable.
    const newSeries: [number, [string, string][]][] = [];
    const points: (number | string)[] = [];
    let count = 0;
    for (const p of plan) {
      if (p.samples.length === 0) continue;
      const existed = this.series.has(p.key);
      const s = this.getOrCreate(p.labels);
      if (!existed) newSeries.push([s.ref, s.labels.map((l) => [l.name, l.value])]);
      for (const smp of p.samples) {
        this.appendToSeries(s, smp.t, smp.v, smp.stale === true);
        points.push(s.ref, smp.t, encodeValue(smp.v, smp.stale === true));
        count++;
      }
    }
    const records: Buffer[] = [];
    if (newSeries.length > 0) records.push(Buffer.from(JSON.stringify({ s: newSeries })));
    if (points.length > 0) records.push(Buffer.from(JSON.stringify({ p: points })));
    if (records.length > 0) await this.wal.append(records);
    return { samples: count, rejected };
  }

  private headSamples(s: HeadSeries, mint: number, maxt: number): ChunkSample[] {
    const out: ChunkSample[] = [];
    for (const c of s.sealed) {
      if (c.maxt < mint || c.mint > maxt) continue;
      for (const smp of decodeXorChunk(c.data, c.count)) if (smp.t >= mint && smp.t <= maxt) out.push(smp);
    }
    for (let i = 0; i < s.t.length; i++) {
      const t = s.t[i] as number;
      if (t >= mint && t <= maxt) out.push({ t, v: s.v[i] as number, stale: s.stale[i] === 1 });
    }
    return out;
  }

  private headCandidates(matchers: readonly Matcher[]): Iterable<HeadSeries> {
    let refs: number[] | undefined;
    for (const m of matchers) {
      if (m.type !== '=' || m.value === '') continue;
      const p = this.postings.get(m.name + '\xff' + m.value);
      if (!p) return [];
      refs = refs ? refs.filter((r) => p.has(r)) : [...p];
    }
    if (!refs) return this.series.values();
    return refs.map((r) => this.byRef.get(r)).filter((s): s is HeadSeries => s !== undefined);
  }

  /** Matching series with samples in [mint, maxt], blocks and head merged. */
  select(matchers: readonly Matcher[], mint: number, maxt: number): RawSeries[] {
    const merged = new Map<string, { labels: Labels; samples: ChunkSample[] }>();
    const add = (labels: Labels, samples: ChunkSample[]): void => {
      if (samples.length === 0) return;
      const k = labelsKey(labels);
      const cur = merged.get(k);
      if (cur) cur.samples.push(...samples);
      else merged.set(k, { labels, samples: [...samples] });
    };
    for (const b of this.blocks) for (const s of b.select(matchers, mint, maxt)) add(s.labels, s.samples);
    for (const s of this.headCandidates(matchers)) {
      if (!matchers.every((m) => matcherMatches(m, getLabel(s.labels, m.name)))) continue;
      add(s.labels, this.headSamples(s, mint, maxt));
    }
    const out: RawSeries[] = [];
    for (const { labels, samples } of merged.values()) {
      samples.sort((a, b) => a.t - b.t);
      const t: number[] = [];
      const v: number[] = [];
      const stale: number[] = [];
      let anyStale = false;
      for (const smp of samples) {
        if (t.length > 0 && t[t.length - 1] === smp.t) continue;
        t.push(smp.t);
        v.push(smp.v);
        stale.push(smp.stale ? 1 : 0);
        if (smp.stale) anyStale = true;
      }
      out.push(anyStale ? { labels, t, v, stale } : { labels, t, v });
    }
    return out;
  }

  /** Label sets of series matching all matchers with data in [mint, maxt]. */
  labelSets(matchers: readonly Matcher[], mint: number, maxt: number): Labels[] {
    const out = new Map<string, Labels>();
    for (const b of this.blocks) for (const l of b.labelSets(matchers, mint, maxt)) out.set(labelsKey(l), l);
    for (const s of this.headCandidates(matchers)) {
      if (!matchers.every((m) => matcherMatches(m, getLabel(s.labels, m.name)))) continue;
      const has =
        s.sealed.some((c) => c.maxt >= mint && c.mint <= maxt) || s.t.some((t) => t >= mint && t <= maxt);
      if (has) out.set(s.key, s.labels);
    }
    return [...out.values()];
  }

  /** Time span of stored data. */
  stats(): { headSeries: number; headMinTime: number; headMaxTime: number; blocks: number } {
    return {
      headSeries: this.series.size,
      headMinTime: this.headMin,
      headMaxTime: this.headMax,
      blocks: this.blocks.length,
    };
  }

  /** Persisted blocks, oldest first. */
  blockMetas(): Block['meta'][] {
    return this.blocks.map((b) => b.meta);
  }

  private newId(minTime: number): string {
    return `${String(minTime).padStart(15, '0')}-${randomBytes(6).toString('hex')}`;
  }

  /**
   * Runs due maintenance: cuts head data into blocks once the head spans 1.5 block ranges, merges
   * blocks within each 3-range window, and deletes blocks past retention (relative to the newest sample).
   */
  async compact(): Promise<{ headBlocks: number; merged: number; deleted: number }> {
    if (this.compacting) return { headBlocks: 0, merged: 0, deleted: 0 };
    this.compacting = true;
    try {
      let headBlocks = 0;
      while (this.headMax - this.headMin >= this.blockRange * 1.5 && this.headMin !== Infinity) {
        const start = Math.floor(this.headMin / this.blockRange) * this.blockRange;
        this.cutHeadBlock(start, start + this.blockRange);
        headBlocks++;
      }
      if (headBlocks > 0) await this.wal.rewrite(this.checkpoint());
      const merged = this.mergeBlocks();
      const deleted = this.applyRetention();
      return { headBlocks, merged, deleted };
    } finally {
      this.compacting = false;
    }
  }

  private cutHeadBlock(start: number, end: number): void {
    const input: BlockSeriesInput[] = [];
    let newMin = Infinity;
    for (const s of this.series.values()) {
      const all = this.headSamples(s, -Infinity, Infinity);
      const old = all.filter((x) => x.t < end);
      const rest = all.filter((x) => x.t >= end);
      if (old.length > 0) {
        const chunks: ChunkRef[] = [];
        for (let i = 0; i < old.length; i += CHUNK_SAMPLES)
          chunks.push(encodeChunk(old.slice(i, i + CHUNK_SAMPLES)));
        input.push({ labels: s.labels, chunks });
      }
      s.sealed = [];
      s.t = [];
      s.v = [];
      s.stale = [];
      for (let i = 0; i < rest.length; i += CHUNK_SAMPLES) {
        const part = rest.slice(i, i + CHUNK_SAMPLES);
        if (part.length === CHUNK_SAMPLES) s.sealed.push(encodeChunk(part));
        else
          for (const x of part) {
            s.t.push(x.t);
            s.v.push(x.v);
            s.stale.push(x.stale ? 1 : 0);
          }
      }
      if (rest.length > 0) newMin = Math.min(newMin, (rest[0] as ChunkSample).t);
    }
    if (input.length > 0) {
      this.blocks.push(
        Block.write(
          this.blocksDir,
          { id: this.newId(start), minTime: start, maxTime: end, level: 1, sources: [] },
          input,
        ),
      );
      this.blocks.sort((a, b) => a.meta.minTime - b.meta.minTime);
    }
    this.minValidTime = Math.max(this.minValidTime, end);
    this.headMin = newMin;
    if (newMin === Infinity) this.headMax = -Infinity;
    // Series with no samples left stay indexed (their last sample still guards ordering).
  }

  private checkpoint(): Buffer[] {
    const series: [number, [string, string][]][] = [];
    const points: (number | string)[] = [];
    for (const s of this.series.values()) {
      series.push([s.ref, s.labels.map((l) => [l.name, l.value])]);
      for (const x of this.headSamples(s, -Infinity, Infinity))
        points.push(s.ref, x.t, encodeValue(x.v, x.stale));
    }
    const out = [Buffer.from(JSON.stringify({ s: series }))];
    if (points.length > 0) out.push(Buffer.from(JSON.stringify({ p: points })));
    return out;
  }

  private mergeBlocks(): number {
    const window = this.blockRange * 3;
    const groups = new Map<number, Block[]>();
    for (const b of this.blocks) {
      const w = Math.floor(b.meta.minTime / window);
      if (Math.floor((b.meta.maxTime - 1) / window) !== w) continue;
      const g = groups.get(w) ?? [];
      g.push(b);
      groups.set(w, g);
    }
    let merged = 0;
    for (const [w, g] of groups) {
      if (g.length < 2 || (w + 1) * window > this.minValidTime) continue;
      const bySeries = new Map<string, { labels: Labels; chunks: ChunkRef[] }>();
      for (const b of g) {
        for (const s of b.allSeries()) {
          const k = labelsKey(s.labels);
          const cur = bySeries.get(k) ?? { labels: s.labels, chunks: [] };
          cur.chunks.push(...s.chunks);
          bySeries.set(k, cur);
        }
      }
      for (const s of bySeries.values()) s.chunks.sort((a, b) => a.mint - b.mint);
      const minTime = Math.min(...g.map((b) => b.meta.minTime));
      const maxTime = Math.max(...g.map((b) => b.meta.maxTime));
      const level = Math.max(...g.map((b) => b.meta.level)) + 1;
      const nb = Block.write(
        this.blocksDir,
        { id: this.newId(minTime), minTime, maxTime, level, sources: g.map((b) => b.meta.id) },
        [...bySeries.values()],
      );
      for (const b of g) b.remove();
      this.blocks = [...this.blocks.filter((b) => !g.includes(b)), nb].sort(
        (a, b) => a.meta.minTime - b.meta.minTime,
      );
      merged++;
    }
    return merged;
  }

  private applyRetention(): number {
    const newest = Math.max(this.headMax, ...this.blocks.map((b) => b.meta.maxTime));
    if (!Number.isFinite(newest)) return 0;
    const cutoff = newest - this.retention;
    const drop = this.blocks.filter((b) => b.meta.maxTime <= cutoff);
    for (const b of drop) b.remove();
    this.blocks = this.blocks.filter((b) => !drop.includes(b));
    return drop.length;
  }

  /** Flushes the WAL and closes files. */
  async close(): Promise<void> {
    await this.wal.close();
    for (const b of this.blocks) b.close();
  }
}
