/**
 * Where a V8 CPU profile (`node --cpu-prof`, a .cpuprofile JSON file) spends its time: self time per
 * function and per code area (ChainFire source, gRPC, protobuf, LMDB, Node internals, GC …).
 */

/** The parts of the .cpuprofile format we read. */
interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }>;
  samples: number[];
  timeDeltas: number[];
  /** Monotonic clock in µs (CLOCK_MONOTONIC on Linux, the clock of `process.hrtime`). */
  startTime?: number;
}

/** A span of the monotonic clock in µs, as `process.hrtime.bigint() / 1000n` reads it. */
export interface TimeWindow {
  startUs: number;
  endUs: number;
}

/** Self time of one function or area. */
export interface ProfileEntry {
  name: string;
  selfMs: number;
  /** Share of busy (non-idle) time, 0..1. */
  share: number;
}

/** A profile's busy time and its top functions and areas. */
export interface ProfileSummary {
  /** Sampled time excluding `(idle)`, in ms. */
  busyMs: number;
  idleMs: number;
  topFunctions: ProfileEntry[];
  areas: ProfileEntry[];
  /** PhotonCloud functions (services/, packages/) by total time including callees. */
  ourInclusive: ProfileEntry[];
}

/** The code area a script URL belongs to, for a coarse breakdown. */
export function areaOf(url: string, functionName: string): string {
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(program)') return 'V8/native (program)';
    return `native ${functionName || '(anonymous)'}`;
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (nm) return `npm ${nm[1]}`;
  if (url.startsWith('node:internal/')) {
    // node:internal/http2/core → "node internal/http2"; node:internal/buffer → "node internal/buffer".
    return `node internal/${url.slice('node:internal/'.length).split('/')[0]}`;
  }
  if (url.startsWith('node:')) return `node ${url.slice(5).split('/')[0]}`;
  const src = /\/(services|packages|apps)\/([^/]+)\/src\/(.*)$/.exec(url);
  if (src) {
    const dir = (src[3] as string).includes('/') ? `/${(src[3] as string).split('/')[0]}` : '';
    return `${src[1]}/${src[2]}${dir}`;
  }
  return 'other';
}

function shortUrl(url: string): string {
  const i = Math.max(
    url.lastIndexOf('/node_modules/'),
    url.lastIndexOf('/services/'),
    url.lastIndexOf('/packages/'),
  );
  return i >= 0 ? url.slice(i + 1) : url;
}

/** Options of `summarizeCpuProfile`. */
export interface SummarizeOptions {
  /** How many functions to list (default 25). */
  top?: number;
  /**
   * Count only samples taken inside these spans (e.g. the measured phases), so start-up (module
   * loading, TypeScript compilation) and idle gaps do not blur the picture. Default: all samples.
   */
  windows?: readonly TimeWindow[];
}

/** Summarise a parsed .cpuprofile: self time per function and per area. */
export function summarizeCpuProfile(profile: CpuProfile, opts: SummarizeOptions = {}): ProfileSummary {
  const top = opts.top ?? 25;
  const windows = opts.windows;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time from sample i-1 to sample i; attribute it to sample i's node.
  let t = profile.startTime ?? 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    const delta = Math.max(0, profile.timeDeltas[i] ?? 0);
    t += delta;
    if (windows && !windows.some((w) => t >= w.startUs && t <= w.endUs)) continue;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  const fn = new Map<string, number>();
  const area = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const key = url
      ? `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`
      : functionName || '(anonymous)';
    fn.set(key, (fn.get(key) ?? 0) + us);
    const a = areaOf(url, functionName);
    area.set(a, (area.get(a) ?? 0) + us);
  }
  // Inclusive time of our own functions: a node's self time plus its subtree's, counted once per
  // function even when it recurses (only the outermost frame of a key on the stack counts).
  const inclusive = new Map<string, number>();
  const root = profile.nodes[0];
  if (root) {
    const onStack = new Map<string, number>();
    const keyOf = (id: number): string | null => {
      const cf = byId.get(id)?.callFrame;
      if (!cf || !/\/(services|packages)\/[^/]+\/src\//.test(cf.url)) return null;
      return `${cf.functionName || '(anonymous)'} ${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
    };
    // Iterative DFS (deep stacks would overflow recursion): post-order sums subtree time.
    const total = new Map<number, number>();
    const stack: Array<{ id: number; entered: boolean }> = [{ id: root.id, entered: false }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { id: number; entered: boolean };
      const node = byId.get(top.id);
      const key = keyOf(top.id);
      if (!top.entered) {
        top.entered = true;
        if (key) onStack.set(key, (onStack.get(key) ?? 0) + 1);
        for (const c of node?.children ?? []) stack.push({ id: c, entered: false });
        continue;
      }
      stack.pop();
      let t = selfUs.get(top.id) ?? 0;
      if (node?.callFrame.functionName === '(idle)') t = 0;
      for (const c of node?.children ?? []) t += total.get(c) ?? 0;
      total.set(top.id, t);
      if (key) {
        const depth = onStack.get(key) ?? 1;
        if (depth === 1) inclusive.set(key, (inclusive.get(key) ?? 0) + t);
        onStack.set(key, depth - 1);
      }
    }
  }
  const entries = (m: Map<string, number>, n: number): ProfileEntry[] =>
    [...m]
      .sort((x, y) => y[1] - x[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, selfMs: us / 1000, share: busyUs > 0 ? us / busyUs : 0 }));
  return {
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    topFunctions: entries(fn, top),
    areas: entries(area, 20),
    ourInclusive: entries(inclusive, top),
  };
}

/** Plain-text rendering of a summary. */
export function formatProfileSummary(s: ProfileSummary, title: string): string {
  const line = (e: ProfileEntry): string =>
    `  ${(e.share * 100).toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(0).padStart(7)} ms  ${e.name}`;
  return [
    `${title}: busy ${(s.busyMs / 1000).toFixed(1)} s, idle ${(s.idleMs / 1000).toFixed(1)} s`,
    ' self time by area:',
    ...s.areas.map(line),
    ' top functions by self time:',
    ...s.topFunctions.map(line),
    ' PhotonCloud functions by total time (self + callees):',
    ...s.ourInclusive.map(line),
  ].join('\n');
}
