/**
 * The condition language of policy rules: a small, safe expression language (never `eval`).
 *
 *   expr    := or
 *   or      := and ('||' and)*
 *   and     := unary ('&&' unary)*
 *   unary   := '!' unary | compare
 *   compare := operand (('==' | '!=' | '<' | '<=' | '>' | '>=' | 'in') operand)?
 *   operand := STRING | NUMBER | 'true' | 'false' | IDENT | FUNC '(' expr (',' expr)* ')'
 *            | '(' expr ')' | '[' (expr (',' expr)*)? ']'
 *
 * Identifiers: `user.id`, `user.role`, `user.roles`, `user.org_id`, `user.project_id`, `resource.service`,
 * `resource.org_id`, `resource.project_id`, `resource.type`, `resource.id`, `request.method`, `request.ip`,
 * `request.time`, `request.action`. Functions: `startsWith(s, prefix)`, `ipInCidr(ip, cidr)` (IPv4 and IPv6).
 * Strings are single- or double-quoted with `\` escapes; numbers are decimal.
 *
 * Semantics (every evaluation is total — it never throws):
 * - `user.role` stands for "some role of the user": `user.role == 'x'` is true when any role equals `'x'`,
 *   `user.role != 'x'` is true when no role equals `'x'`, `user.role in [...]` when any role is in the list
 *   (other comparisons likewise hold when they hold for some role). `user.roles` is the list itself:
 *   `'admin' in user.roles`.
 * - `==`/`!=` compare values of the same type; values of different types are never equal. A missing attribute
 *   (e.g. `user.org_id` of an unscoped user) makes every comparison with it false, `!=` included.
 * - `<`, `<=`, `>`, `>=` compare two numbers numerically or two strings lexicographically (so RFC 3339 times
 *   in the same form compare chronologically); anything else is false.
 * - `a in b`: membership when `b` is a list, substring when `b` is a string; otherwise false.
 * - `&&`, `||`, `!` work on booleans; any other value counts as false.
 * A condition that does not parse never matches (stored policies are validated with `validateCondition`).
 */
import type { AuthzContext } from '../types.js';
import type { ResourceName } from '../types.js';

/** A value during evaluation. `undefined` = missing attribute. */
type Value = string | number | boolean | Value[] | undefined | AnyOf;

/** The value of `user.role`: comparisons are existential over the roles. */
class AnyOf {
  constructor(readonly values: readonly string[]) {}
}

type Node =
  | { k: 'lit'; v: string | number | boolean }
  | { k: 'id'; name: string }
  | { k: 'list'; items: Node[] }
  | { k: 'not'; e: Node }
  | { k: 'and' | 'or'; l: Node; r: Node }
  | { k: 'cmp'; op: CmpOp; l: Node; r: Node }
  | { k: 'call'; fn: 'startsWith' | 'ipInCidr'; args: Node[] };

type CmpOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in';

/** The identifiers a condition may use. */
export const CONDITION_IDENTIFIERS: readonly string[] = [
  'user.id',
  'user.role',
  'user.roles',
  'user.org_id',
  'user.project_id',
  'resource.service',
  'resource.org_id',
  'resource.project_id',
  'resource.type',
  'resource.id',
  'request.method',
  'request.ip',
  'request.time',
  'request.action',
];
const IDENTS = new Set(CONDITION_IDENTIFIERS);
const FUNCS: Record<string, number> = { startsWith: 2, ipInCidr: 2 };

/** Longest accepted condition, in characters. */
export const MAX_CONDITION_LENGTH = 4096;
const MAX_DEPTH = 64;

class SyntaxErr extends Error {}

type Tok =
  | { t: 'str'; v: string; at: number }
  | { t: 'num'; v: number; at: number }
  | { t: 'id'; v: string; at: number }
  | { t: 'op'; v: string; at: number }
  | { t: 'end'; at: number };

const OPS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '[', ']', ','];

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      const at = i;
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new SyntaxErr(`unterminated string starting at ${at}`);
        const d = src[i] as string;
        if (d === c) {
          i++;
          break;
        }
        if (d === '\\') {
          const e = src[i + 1];
          if (e === undefined) throw new SyntaxErr(`unterminated string starting at ${at}`);
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          i += 2;
          continue;
        }
        s += d;
        i++;
      }
      out.push({ t: 'str', v: s, at });
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(src.slice(i, i + 40));
    if (num !== null && (c !== '-' || /\d/.test(src[i + 1] ?? ''))) {
      out.push({ t: 'num', v: Number(num[0]), at: i });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(src.slice(i));
    if (id !== null) {
      out.push({ t: 'id', v: id[0], at: i });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (op !== undefined) {
      out.push({ t: 'op', v: op, at: i });
      i += op.length;
      continue;
    }
    throw new SyntaxErr(`unexpected character ${JSON.stringify(c)} at ${i}`);
  }
  out.push({ t: 'end', at: src.length });
  return out;
}

function parse(src: string): Node {
  if (src.length > MAX_CONDITION_LENGTH)
    throw new SyntaxErr(`longer than ${MAX_CONDITION_LENGTH} characters`);
  const toks = tokenize(src);
  let p = 0;
  let depth = 0;
  const peek = (): Tok => toks[p] as Tok;
  const isOp = (v: string): boolean => {
    const t = peek();
    return t.t === 'op' && t.v === v;
  };
  const expect = (v: string): void => {
    const t = peek();
    if (t.t !== 'op' || t.v !== v) throw new SyntaxErr(`expected "${v}" at ${t.at}`);
    p++;
  };
  const enter = (): void => {
    if (++depth > MAX_DEPTH) throw new SyntaxErr(`nested deeper than ${MAX_DEPTH}`);
  };

  function expr(): Node {
    enter();
    let l = and();
    while (isOp('||')) {
      p++;
      l = { k: 'or', l, r: and() };
    }
    depth--;
    return l;
  }
  function and(): Node {
    let l = unary();
    while (isOp('&&')) {
      p++;
      l = { k: 'and', l, r: unary() };
    }
    return l;
  }
  function unary(): Node {
    if (isOp('!')) {
      p++;
      enter();
      const e = unary();
      depth--;
      return { k: 'not', e };
    }
    return compare();
  }
  function compare(): Node {
    const l = operand();
    const t = peek();
    let op: CmpOp | undefined;
    if (t.t === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.v)) op = t.v as CmpOp;
    else if (t.t === 'id' && t.v === 'in') op = 'in';
    if (op === undefined) return l;
    p++;
    return { k: 'cmp', op, l, r: operand() };
  }
  function operand(): Node {
    const t = peek();
    switch (t.t) {
      case 'str':
      case 'num':
        p++;
        return { k: 'lit', v: t.v };
      case 'id': {
        p++;
        if (t.v === 'true' || t.v === 'false') return { k: 'lit', v: t.v === 'true' };
        if (t.v in FUNCS && Object.prototype.hasOwnProperty.call(FUNCS, t.v)) {
          expect('(');
          const args: Node[] = [];
          if (!isOp(')')) {
            args.push(expr());
            while (isOp(',')) {
              p++;
              args.push(expr());
            }
          }
          expect(')');
          if (args.length !== FUNCS[t.v]) {
            throw new SyntaxErr(`${t.v}() takes ${FUNCS[t.v]} arguments, got ${args.length}`);
          }
          return { k: 'call', fn: t.v as 'startsWith' | 'ipInCidr', args };
        }
        if (!IDENTS.has(t.v)) throw new SyntaxErr(`unknown identifier "${t.v}" at ${t.at}`);
        return { k: 'id', name: t.v };
      }
      case 'op':
        if (t.v === '(') {
          p++;
          const e = expr();
          expect(')');
          return e;
        }
        if (t.v === '[') {
          p++;
          const items: Node[] = [];
          if (!isOp(']')) {
            items.push(expr());
            while (isOp(',')) {
              p++;
              items.push(expr());
            }
          }
          expect(']');
          return { k: 'list', items };
        }
        throw new SyntaxErr(`unexpected "${t.v}" at ${t.at}`);
      case 'end':
        throw new SyntaxErr('unexpected end of condition');
    }
  }

  const root = expr();
  const t = peek();
  if (t.t !== 'end')
    throw new SyntaxErr(`unexpected ${t.t === 'op' || t.t === 'id' ? `"${t.v}"` : 'token'} at ${t.at}`);
  return root;
}

/** A parsed condition, or the reason it does not parse. */
export type CompiledCondition = { ok: true; ast: Node } | { ok: false; error: string };

const cache = new Map<string, CompiledCondition>();
const CACHE_MAX = 10_000;

/** Parse `src` once (cached). */
export function compileCondition(src: string): CompiledCondition {
  let c = cache.get(src);
  if (c !== undefined) return c;
  try {
    c = { ok: true, ast: parse(src) };
  } catch (err) {
    if (!(err instanceof SyntaxErr) && !(err instanceof RangeError)) throw err;
    c = { ok: false, error: err.message };
  }
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(src, c);
  return c;
}

/** `null` when `src` is a valid condition, else a message saying what is wrong (for a 400). */
export function validateCondition(src: string): string | null {
  const c = compileCondition(src);
  return c.ok ? null : `Invalid condition: ${c.error}`;
}

/** What a condition is evaluated against. */
export interface ConditionInput {
  action: string;
  resource: ResourceName | undefined;
  context: AuthzContext | undefined;
}

function lookup(name: string, inp: ConditionInput): Value {
  const u = inp.context?.user;
  const r = inp.resource;
  const q = inp.context?.request;
  switch (name) {
    case 'user.id':
      return u?.id;
    case 'user.role':
      return new AnyOf(u?.roles ?? []);
    case 'user.roles':
      return [...(u?.roles ?? [])];
    case 'user.org_id':
      return u?.org_id;
    case 'user.project_id':
      return u?.project_id;
    case 'resource.service':
      return r?.service;
    case 'resource.org_id':
      return r?.org_id;
    case 'resource.project_id':
      return r?.project_id;
    case 'resource.type':
      return r?.type;
    case 'resource.id':
      return r?.id;
    case 'request.method':
      return q?.method;
    case 'request.ip':
      return q?.ip;
    case 'request.time':
      return q?.time;
    case 'request.action':
      return inp.action;
    default:
      return undefined;
  }
}

function eq(a: Value, b: Value): boolean {
  if (a === undefined || b === undefined) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => eq(x, b[i]));
  }
  return typeof a === typeof b && a === b;
}

function order(op: CmpOp, a: Value, b: Value): boolean {
  if (!(
    (typeof a === 'number' && typeof b === 'number') ||
    (typeof a === 'string' && typeof b === 'string')
  )) {
    return false;
  }
  if (typeof a === 'number' && (Number.isNaN(a) || Number.isNaN(b as number))) return false;
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    default:
      return a >= b;
  }
}

function cmpScalar(op: CmpOp, a: Value, b: Value): boolean {
  if (a === undefined || b === undefined) return false;
  switch (op) {
    case '==':
      return eq(a, b);
    case '!=':
      return !eq(a, b);
    case 'in':
      if (Array.isArray(b)) return b.some((x) => eq(a, x));
      if (typeof b === 'string' && typeof a === 'string') return b.includes(a);
      return false;
    default:
      return order(op, a, b);
  }
}

function cmp(op: CmpOp, a: Value, b: Value): boolean {
  if (a instanceof AnyOf || b instanceof AnyOf) {
    // `!=` is "no role equals"; everything else is "some role satisfies".
    if (op === '!=') return !cmp('==', a, b) && a !== undefined && b !== undefined;
    const as = a instanceof AnyOf ? a.values : [a];
    const bs = b instanceof AnyOf ? b.values : [b];
    return as.some((x) => bs.some((y) => cmpScalar(op, x, y)));
  }
  return cmpScalar(op, a, b);
}

function ipToBigInt(ip: string): { v: bigint; bits: number } | undefined {
  const v4 = (s: string): bigint | undefined => {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
    if (m === null) return undefined;
    let out = 0n;
    for (let i = 1; i <= 4; i++) {
      const o = Number(m[i]);
      if (o > 255) return undefined;
      out = (out << 8n) | BigInt(o);
    }
    return out;
  };
  if (!ip.includes(':')) {
    const v = v4(ip);
    return v === undefined ? undefined : { v, bits: 32 };
  }
  let s = ip.toLowerCase();
  let tail: bigint | undefined;
  let tailGroups = 0;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    tail = v4(s.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    s = s.slice(0, lastColon + 1) + '0:0';
    tailGroups = 2;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (h: string): string[] => (h === '' ? [] : h.split(':'));
  const head = parseGroups(halves[0] as string);
  const rest = halves.length === 2 ? parseGroups(halves[1] as string) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  let out = 0n;
  for (const g of groups) {
    if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
    out = (out << 16n) | BigInt(parseInt(g, 16));
  }
  if (tail !== undefined && tailGroups === 2) out = (out & ~0xffffffffn) | tail;
  return { v: out, bits: 128 };
}

/** True when `ip` lies in `cidr` (IPv4 or IPv6; an IPv4-mapped IPv6 address matches IPv4 ranges). */
export function ipInCidr(ip: string, cidr: string): boolean {
  const slash = cidr.indexOf('/');
  const base = ipToBigInt(slash < 0 ? cidr : cidr.slice(0, slash));
  let addr = ipToBigInt(ip);
  if (base === undefined || addr === undefined) return false;
  if (addr.bits === 128 && base.bits === 32 && addr.v >> 32n === 0xffffn)
    addr = { v: addr.v & 0xffffffffn, bits: 32 };
  if (addr.bits !== base.bits) return false;
  const lenStr = slash < 0 ? String(base.bits) : cidr.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenStr)) return false;
  const len = Number(lenStr);
  if (len > base.bits) return false;
  const shift = BigInt(base.bits - len);
  return addr.v >> shift === base.v >> shift;
}

function ev(n: Node, inp: ConditionInput): Value {
  switch (n.k) {
    case 'lit':
      return n.v;
    case 'id':
      return lookup(n.name, inp);
    case 'list':
      return n.items.map((i) => {
        const v = ev(i, inp);
        return v instanceof AnyOf ? [...v.values] : v;
      });
    case 'not':
      return ev(n.e, inp) !== true;
    case 'and':
      return ev(n.l, inp) === true && ev(n.r, inp) === true;
    case 'or':
      return ev(n.l, inp) === true || ev(n.r, inp) === true;
    case 'cmp':
      return cmp(n.op, ev(n.l, inp), ev(n.r, inp));
    case 'call': {
      const [a, b] = n.args.map((x) => ev(x, inp));
      if (typeof a !== 'string' || typeof b !== 'string') return false;
      return n.fn === 'startsWith' ? a.startsWith(b) : ipInCidr(a, b);
    }
  }
}

/** Evaluate a condition; a condition that does not parse, or does not yield `true`, is false. Never throws. */
export function evaluateCondition(src: string, inp: ConditionInput): boolean {
  const c = compileCondition(src);
  if (!c.ok) return false;
  try {
    return ev(c.ast, inp) === true;
  } catch {
    return false;
  }
}
