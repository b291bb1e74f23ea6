/**
 * A linearizability checker in the style of porcupine: the Wing & Gong search with Lowe's
 * memoization (WGL). Operations are laid out as call/return events in time order; the search
 * repeatedly picks a call that can take effect next (its model step accepts the observed output),
 * and backtracks when it reaches a return whose call was not yet linearized. A cache of
 * (linearized-set bitset, model state) pairs already explored prunes equivalent branches.
 * Histories are checked per partition (for a KV model: per key), which keeps each search small.
 */

/** One completed or pending operation of a history. */
export interface Operation<I, O> {
  /** Who issued it (informational: ops of one client never overlap). */
  clientId: number;
  input: I;
  /** Ignored for a pending operation. */
  output: O;
  /** Invocation time. */
  call: number;
  /** Return time; `Infinity` for an operation that never returned (it may or may not have taken effect). */
  ret: number;
}

/** A sequential specification. States must be treated as immutable. */
export interface Model<S, I, O> {
  init(): S;
  /** Whether `input` in state `state` may produce `output`, and the state after it. */
  step(state: S, input: I, output: O, pending: boolean): { ok: boolean; next: S };
  /** A string that is equal for equal states (the memoization key). */
  stateKey(state: S): string;
  /** Split a history into independent sub-histories (default: one). */
  partition?(ops: Array<Operation<I, O>>): Array<Array<Operation<I, O>>>;
}

/** Outcome of a check. `unknown` means the search budget ran out before a verdict. */
export interface CheckResult {
  result: 'ok' | 'illegal' | 'unknown';
  partitions: number;
  /** Search steps taken in total. */
  steps: number;
  /** For `illegal`: the operations of the first partition that has no linearization. */
  failedPartition?: number;
}

interface Node {
  /** Operation index within the partition; -1 for the list head. */
  op: number;
  isCall: boolean;
  time: number;
  match: Node | undefined;
  prev: Node | undefined;
  next: Node | undefined;
}

function lift(call: Node): void {
  call.prev!.next = call.next;
  if (call.next) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

function unlift(call: Node): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next) call.next.prev = call;
}

/** Check one partition; returns the verdict and the steps used. */
function checkPartition<S, I, O>(
  model: Model<S, I, O>,
  ops: Array<Operation<I, O>>,
  budget: number,
): { result: 'ok' | 'illegal' | 'unknown'; steps: number } {
  const events: Node[] = [];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (!(op.ret >= op.call)) throw new Error(`linearizability: operation ${i} returns before its call`);
    const call: Node = {
      op: i,
      isCall: true,
      time: op.call,
      match: undefined,
      prev: undefined,
      next: undefined,
    };
    const ret: Node = {
      op: i,
      isCall: false,
      time: op.ret,
      match: undefined,
      prev: undefined,
      next: undefined,
    };
    call.match = ret;
    events.push(call, ret);
  }
  // Time order; at equal times calls first (the operations are then taken as concurrent, never
  // as ordered by a tie the clock could not resolve).
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
  const head: Node = {
    op: -1,
    isCall: false,
    time: -Infinity,
    match: undefined,
    prev: undefined,
    next: undefined,
  };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }
  const words = new Uint32Array(Math.ceil(ops.length / 32) + 1);
  const bitsKey = (): string => words.join(',');
  const cache = new Set<string>();
  const stack: Array<{ node: Node; state: S }> = [];
  let state = model.init();
  let entry = head.next;
  let steps = 0;
  while (head.next !== undefined) {
    if (++steps > budget) return { result: 'unknown', steps };
    if (entry === undefined) {
      // Only possible when every remaining event was skipped: treat like reaching a return.
      return { result: 'illegal', steps };
    }
    if (entry.isCall) {
      const op = ops[entry.op]!;
      const { ok, next } = model.step(state, op.input, op.output, op.ret === Infinity);
      if (ok) {
        words[entry.op >>> 5]! |= 1 << (entry.op & 31);
        const key = `${bitsKey()}|${model.stateKey(next)}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ node: entry, state });
          state = next;
          lift(entry);
          entry = head.next;
          continue;
        }
        words[entry.op >>> 5]! &= ~(1 << (entry.op & 31));
      }
      entry = entry.next;
    } else {
      // A return whose call is not linearized yet: undo the last choice.
      const top = stack.pop();
      if (!top) return { result: 'illegal', steps };
      state = top.state;
      words[top.node.op >>> 5]! &= ~(1 << (top.node.op & 31));
      unlift(top.node);
      entry = top.node.next;
    }
  }
  return { result: 'ok', steps };
}

/**
 * Check that `ops` has a linearization under `model`. `budget` bounds the search steps per
 * partition (default 5 million); exceeding it yields `unknown`.
 */
export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>,
  ops: Array<Operation<I, O>>,
  budget = 5_000_000,
): CheckResult {
  const parts = model.partition ? model.partition(ops) : [ops];
  let steps = 0;
  let unknown = false;
  for (let p = 0; p < parts.length; p++) {
    const r = checkPartition(model, parts[p]!, budget);
    steps += r.steps;
    if (r.result === 'illegal')
      return { result: 'illegal', partitions: parts.length, steps, failedPartition: p };
    if (r.result === 'unknown') unknown = true;
  }
  return { result: unknown ? 'unknown' : 'ok', partitions: parts.length, steps };
}

/** Input of the KV model: a write of `value` or a read of `key`. */
export interface KvInput {
  kind: 'put' | 'get';
  key: string;
  value?: string;
}

/** Output of the KV model: the value a read returned (null: absent). */
export interface KvOutput {
  value?: string | null;
}

/** A register per key (partitioned by key): put sets it, get must return the current value. */
export const kvModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step(state, input, output, pending) {
    if (input.kind === 'put') return { ok: true, next: input.value ?? null };
    // A read that never returned constrains nothing.
    if (pending) return { ok: true, next: state };
    return { ok: (output.value ?? null) === state, next: state };
  },
  stateKey: (s) => (s === null ? '\u0000' : `v${s}`),
  partition(ops) {
    const byKey = new Map<string, Array<Operation<KvInput, KvOutput>>>();
    for (const op of ops) {
      let list = byKey.get(op.input.key);
      if (!list) byKey.set(op.input.key, (list = []));
      list.push(op);
    }
    return [...byKey.keys()].sort().map((k) => byKey.get(k)!);
  },
};
