/**
 * Set reasoning over globs, exactly: a glob is a small NFA (state i = "matched pattern[0..i)"), and
 * inclusion / intersection questions are answered by exploring the product of subset-constructed automata.
 * Only the characters that appear literally in the patterns are told apart; every other character behaves
 * the same under `*` and `?`, so one extra symbol stands for all of them.
 * Exploration is bounded; when the bound is hit the answer is the conservative one (see each function).
 */

const MAX_STATES = 20_000;

/** NFA state sets are bitsets over pattern positions, kept as sorted arrays joined into a key. */
function closure(p: string, states: number[]): number[] {
  const out = new Set<number>();
  const stack = [...states];
  while (stack.length > 0) {
    const s = stack.pop() as number;
    if (out.has(s)) continue;
    out.add(s);
    if (p[s] === '*') stack.push(s + 1);
  }
  return [...out].sort((a, b) => a - b);
}

function step(p: string, states: number[], ch: string): number[] {
  const next: number[] = [];
  for (const s of states) {
    if (s >= p.length) continue;
    const c = p[s];
    if (c === '*') next.push(s);
    else if (c === '?' || c === ch) next.push(s + 1);
  }
  return closure(p, next);
}

function accepts(p: string, states: number[]): boolean {
  return states.includes(p.length);
}

function alphabet(patterns: readonly string[]): string[] {
  const chars = new Set<string>();
  for (const p of patterns) for (const c of p) if (c !== '*' && c !== '?') chars.add(c);
  // One character that appears in no pattern stands for every other character.
  let other = 0xe000;
  while (chars.has(String.fromCharCode(other))) other++;
  return [...chars, String.fromCharCode(other)];
}

type Verdict = 'yes' | 'no' | 'unknown';

/**
 * Explore words accepted by every pattern in `all`; report whether some such word is accepted by none of
 * `none` (a witness). `unknown` when the bound is hit.
 */
function findWitness(all: readonly string[], none: readonly string[]): Verdict {
  const pats = [...all, ...none];
  const sigma = alphabet(pats);
  const start = pats.map((p) => closure(p, [0]));
  const keyOf = (st: number[][]): string => st.map((s) => s.join(',')).join('|');
  const seen = new Set<string>([keyOf(start)]);
  const queue: number[][][] = [start];
  while (queue.length > 0) {
    const st = queue.shift() as number[][];
    let inAll = true;
    for (let i = 0; i < all.length; i++) if (!accepts(pats[i] as string, st[i] as number[])) inAll = false;
    if (inAll) {
      let inNone = true;
      for (let i = all.length; i < pats.length; i++)
        if (accepts(pats[i] as string, st[i] as number[])) inNone = false;
      if (inNone) return 'yes';
    }
    for (const ch of sigma) {
      const next = st.map((s, i) => step(pats[i] as string, s, ch));
      // Dead for the "all" side: no word continuing from here is accepted by every pattern.
      if (next.slice(0, all.length).some((s) => s.length === 0)) continue;
      const k = keyOf(next);
      if (seen.has(k)) continue;
      if (seen.size >= MAX_STATES) return 'unknown';
      seen.add(k);
      queue.push(next);
    }
  }
  return 'no';
}

/**
 * True when every string matched by all of `sub` (their intersection) is matched by some pattern of `sup`.
 * False when not, or when that cannot be established within the bound (conservative).
 */
export function globIncluded(sub: readonly string[], sup: readonly string[]): boolean {
  return findWitness(sub, sup) === 'no';
}

/**
 * True when some string is matched by every pattern in `patterns`, or when that cannot be ruled out within
 * the bound (conservative: "may overlap").
 */
export function globsIntersect(patterns: readonly string[]): boolean {
  return findWitness(patterns, []) !== 'no';
}
