import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Matcher } from '../core/promql/ast.js';
import type { Labels } from '../core/promql/labels.js';
import { getLabel, labelsFromPairs } from '../core/promql/labels.js';
import { matcherMatches } from '../core/promql/parser.js';
import type { ChunkSample } from '../core/xor-chunk.js';
import { decodeXorChunk } from '../core/xor-chunk.js';
import { syncDir } from './wal.js';

/** A compressed chunk of one series. */
export interface ChunkRef {
  readonly mint: number;
  readonly maxt: number;
  readonly count: number;
  readonly data: Uint8Array;
}

/** Series data handed to the block writer. */
export interface BlockSeriesInput {
  readonly labels: Labels;
  readonly chunks: readonly ChunkRef[];
}

/** meta.json of a block. */
export interface BlockMeta {
  readonly id: string;
  readonly minTime: number;
  /** Exclusive upper bound. */
  readonly maxTime: number;
  readonly numSeries: number;
  readonly numSamples: number;
  readonly level: number;
  readonly sources: readonly string[];
}

interface IndexSeries {
  readonly labels: Labels;
  readonly chunks: readonly (readonly [number, number, number, number, number])[]; // mint, maxt, count, offset, length
}

/**
 * An immutable persisted block: meta.json, index.json (series, chunk references and postings:
 * label pair → series numbers) and chunks (the concatenated compressed chunks).
 */
export class Block {
  private readonly fd: number;

  private constructor(
    readonly dir: string,
    readonly meta: BlockMeta,
    private readonly series: readonly IndexSeries[],
    private readonly postings: ReadonlyMap<string, readonly number[]>,
  ) {
    this.fd = openSync(join(dir, 'chunks'), 'r');
  }

  /** Opens a block directory. */
  static open(dir: string): Block {
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as BlockMeta;
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
      series: { labels: [string, string][]; chunks: [number, number, number, number, number][] }[];
      postings: Record<string, number[]>;
    };
    const series = index.series.map((s) => ({ labels: labelsFromPairs(s.labels), chunks: s.chunks }));
    return new Block(dir, meta, series, new Map(Object.entries(index.postings)));
  }

  /** Writes a block atomically (temp dir + rename) and opens it. */
  static write(
    parent: string,
    meta: Omit<BlockMeta, 'numSeries' | 'numSamples'>,
    input: readonly BlockSeriesInput[],
  ): Block {
    const tmp = join(parent, meta.id + '.tmp');
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const fd = openSync(join(tmp, 'chunks'), 'w');
    let offset = 0;
    let numSamples = 0;
    const sorted = [...input]
      .filter((s) => s.chunks.length > 0)
      .sort((a, b) => cmpLabels(a.labels, b.labels));
    const series: { labels: [string, string][]; chunks: [number, number, number, number, number][] }[] = [];
    const postings: Record<string, number[]> = {};
    try {
      sorted.forEach((s, idx) => {
        const chunks: [number, number, number, number, number][] = [];
        for (const c of s.chunks) {
          let w = 0;
          while (w < c.data.length) w += writeSync(fd, c.data, w);
          chunks.push([c.mint, c.maxt, c.count, offset, c.data.length]);
          offset += c.data.length;
          numSamples += c.count;
        }
        series.push({ labels: s.labels.map((l) => [l.name, l.value]), chunks });
        for (const l of s.labels) (postings[postingKey(l.name, l.value)] ??= []).push(idx);
      });
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const full: BlockMeta = { ...meta, numSeries: series.length, numSamples };
    writeDurable(join(tmp, 'index.json'), JSON.stringify({ series, postings }));
    writeDurable(join(tmp, 'meta.json'), JSON.stringify(full, null, 2));
    syncDir(tmp);
    const dir = join(parent, meta.id);
    renameSync(tmp, dir);
    syncDir(parent);
    return Block.open(dir);
  }

  /** Series numbers that can match: intersection of the postings of every non-empty equality matcher. */
  private candidates(matchers: readonly Matcher[]): readonly number[] {
    let result: number[] | undefined;
    for (const m of matchers) {
      if (m.type !== '=' || m.value === '') continue;
      const p = this.postings.get(postingKey(m.name, m.value)) ?? [];
      if (!result) result = [...p];
      else {
        const set = new Set(p);
        result = result.filter((i) => set.has(i));
      }
    }
    return result ?? this.series.map((_, i) => i);
  }

  /** Matching series with their samples in [mint, maxt]. */
  select(
    matchers: readonly Matcher[],
    mint: number,
    maxt: number,
  ): { labels: Labels; samples: ChunkSample[] }[] {
    if (this.meta.maxTime <= mint || this.meta.minTime > maxt) return [];
    const out: { labels: Labels; samples: ChunkSample[] }[] = [];
    for (const i of this.candidates(matchers)) {
      const s = this.series[i] as IndexSeries;
      if (!matchers.every((m) => matcherMatches(m, getLabel(s.labels, m.name)))) continue;
      const samples: ChunkSample[] = [];
      for (const [cmin, cmax, count, off, len] of s.chunks) {
        if (cmax < mint || cmin > maxt) continue;
        for (const smp of decodeXorChunk(this.read(off, len), count))
          if (smp.t >= mint && smp.t <= maxt) samples.push(smp);
      }
      if (samples.length > 0) out.push({ labels: s.labels, samples });
    }
    return out;
  }

  /** Every series with its chunks (for compaction). */
  allSeries(): BlockSeriesInput[] {
    return this.series.map((s) => ({
      labels: s.labels,
      chunks: s.chunks.map(([mint, maxt, count, off, len]) => ({
        mint,
        maxt,
        count,
        data: this.read(off, len),
      })),
    }));
  }

  /** Label sets of matching series that have chunks overlapping [mint, maxt]. */
  labelSets(matchers: readonly Matcher[], mint: number, maxt: number): Labels[] {
    if (this.meta.maxTime <= mint || this.meta.minTime > maxt) return [];
    const out: Labels[] = [];
    for (const i of this.candidates(matchers)) {
      const s = this.series[i] as IndexSeries;
      if (!s.chunks.some(([a, b]) => b >= mint && a <= maxt)) continue;
      if (matchers.every((m) => matcherMatches(m, getLabel(s.labels, m.name)))) out.push(s.labels);
    }
    return out;
  }

  private read(off: number, len: number): Uint8Array {
    const buf = Buffer.alloc(len);
    let r = 0;
    while (r < len) {
      const n = readSync(this.fd, buf, r, len - r, off + r);
      if (n === 0) throw new Error(`block ${this.meta.id}: chunks file truncated`);
      r += n;
    }
    return buf;
  }

  /** Closes the chunk file. */
  close(): void {
    closeSync(this.fd);
  }

  /** Closes and deletes the block directory. */
  remove(): void {
    this.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function postingKey(name: string, value: string): string {
  return name + '\xff' + value;
}

function cmpLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.name !== y.name) return x.name < y.name ? -1 : 1;
    if (x.value !== y.value) return x.value < y.value ? -1 : 1;
  }
  return a.length - b.length;
}

function writeDurable(path: string, text: string): void {
  writeFileSync(path, text);
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Opens every complete block under dir (leftover temp directories from a crash are removed). */
export function openBlocks(dir: string): Block[] {
  if (!existsSync(dir)) return [];
  const out: Block[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name.endsWith('.tmp')) {
      rmSync(path, { recursive: true, force: true });
      continue;
    }
    if (existsSync(join(path, 'meta.json'))) out.push(Block.open(path));
  }
  out.sort((a, b) => a.meta.minTime - b.meta.minTime);
  return out;
}
