/**
 * Glob patterns of policy rules: `*` matches any run of characters (also `:` and `/`), `?` exactly one
 * character (UTF-16 code unit), anything else itself. Compiled to anchored regular expressions for evaluation; `glob-algebra.ts`
 * reasons about them as automata (inclusion, intersection) for the escalation check.
 */

const cache = new Map<string, RegExp>();
const CACHE_MAX = 50_000;

/** True when the pattern has no wildcard. */
export function isLiteral(pattern: string): boolean {
  return !pattern.includes('*') && !pattern.includes('?');
}

/** The characters before the first wildcard. */
export function literalPrefix(pattern: string): string {
  let i = 0;
  while (i < pattern.length && pattern[i] !== '*' && pattern[i] !== '?') i++;
  return pattern.slice(0, i);
}

/** Compile a glob to an anchored RegExp (cached). */
export function globToRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re !== undefined) return re;
  let src = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '*') {
      if (!src.endsWith('.*')) src += '.*';
    } else if (ch === '?') src += '.';
    else src += ch.replace(/[\\^$.|+()[\]{}*?/-]/g, '\\$&');
  }
  src += '$';
  re = new RegExp(src, 's');
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(pattern, re);
  return re;
}

/** A compiled matcher for one glob (a literal pattern compares strings, no RegExp). */
export type Matcher = (s: string) => boolean;

/** Compile a glob (or a list of globs, matching when any matches). */
export function compileMatcher(pattern: string | readonly string[]): Matcher {
  if (typeof pattern !== 'string') {
    const ms = pattern.map((p) => compileMatcher(p));
    if (ms.length === 1) return ms[0] as Matcher;
    return (s) => ms.some((m) => m(s));
  }
  if (pattern === '*') return () => true;
  if (isLiteral(pattern)) return (s) => s === pattern;
  const re = globToRegExp(pattern);
  return (s) => re.test(s);
}
