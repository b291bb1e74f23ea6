import { parser as lezerParser } from '@prometheus-io/lezer-promql';
import type {
  AggregateOp,
  AtModifier,
  BinaryOp,
  Expr,
  Matcher,
  MatrixSelector,
  SubqueryExpr,
  ValueType,
  VectorMatching,
  VectorSelector,
} from './ast.js';
import { typeOf } from './ast.js';
import { FUNCTIONS } from './functions-signatures.js';
import { parseDuration, parseGoFloat } from './format.js';
import { isValidLabelName, METRIC_NAME } from './labels.js';
import { compileAnchoredRegex } from './regex.js';

/** A PromQL syntax or type error (Prometheus reports these as `bad_data`). */
export class PromQLParseError extends Error {
  constructor(
    message: string,
    readonly position?: number,
  ) {
    super(message);
    this.name = 'PromQLParseError';
  }
}

interface Node {
  readonly name: string;
  readonly from: number;
  readonly to: number;
  readonly error: boolean;
  readonly children: Node[];
}

function toTree(input: string): Node {
  const tree = lezerParser.parse(input);
  const cursor = tree.cursor();
  const build = (): Node => {
    const node: Node = {
      name: cursor.type.name,
      from: cursor.from,
      to: cursor.to,
      error: cursor.type.isError,
      children: [],
    };
    if (cursor.firstChild()) {
      do node.children.push(build());
      while (cursor.nextSibling());
      cursor.parent();
    }
    return node;
  };
  return build();
}

function findError(n: Node): Node | undefined {
  if (n.error) return n;
  for (const c of n.children) {
    const e = findError(c);
    if (e) return e;
  }
  return undefined;
}

const BINARY_OPS: Record<string, BinaryOp> = {
  Pow: '^',
  Mul: '*',
  Div: '/',
  Mod: '%',
  Add: '+',
  Sub: '-',
  Eql: '==',
  Neq: '!=',
  Gtr: '>',
  Lss: '<',
  Gte: '>=',
  Lte: '<=',
  And: 'and',
  Or: 'or',
  Unless: 'unless',
  Atan2: 'atan2',
};

const COMPARISON = new Set<BinaryOp>(['==', '!=', '>', '<', '>=', '<=']);
const SET_OPS = new Set<BinaryOp>(['and', 'or', 'unless']);

/** Whether an operator is a comparison operator. */
export function isComparison(op: BinaryOp): boolean {
  return COMPARISON.has(op);
}

/** Whether an operator is a set operator. */
export function isSetOperator(op: BinaryOp): boolean {
  return SET_OPS.has(op);
}

/** Unquotes a PromQL string literal ("…", '…' with Go escapes, or `…` raw). */
export function unquoteString(lit: string): string {
  const q = lit[0];
  if (lit.length < 2 || lit[lit.length - 1] !== q)
    throw new PromQLParseError(`unterminated quoted string ${lit}`);
  const body = lit.slice(1, -1);
  if (q === '`') return body;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    switch (e) {
      case 'a':
        out += '\x07';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
        out += '\\';
        break;
      case '"':
        out += '"';
        break;
      case "'":
        out += "'";
        break;
      case 'x': {
        const h = body.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new PromQLParseError(`invalid escape in ${lit}`);
        out += String.fromCharCode(parseInt(h, 16));
        i += 2;
        break;
      }
      case 'u':
      case 'U': {
        const len = e === 'u' ? 4 : 8;
        const h = body.slice(i + 1, i + 1 + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(h))
          throw new PromQLParseError(`invalid escape in ${lit}`);
        out += String.fromCodePoint(parseInt(h, 16));
        i += len;
        break;
      }
      default: {
        const o = body.slice(i, i + 3);
        if (/^[0-7]{3}$/.test(o)) {
          out += String.fromCharCode(parseInt(o, 8));
          i += 2;
          break;
        }
        throw new PromQLParseError(`unknown escape sequence in ${lit}`);
      }
    }
  }
  return out;
}

class Builder {
  constructor(private readonly src: string) {}

  text(n: Node): string {
    return this.src.slice(n.from, n.to);
  }

  fail(n: Node, msg: string): never {
    throw new PromQLParseError(msg, n.from);
  }

  expr(n: Node): Expr {
    switch (n.name) {
      case 'NumberLiteral':
        return { kind: 'number', value: this.number(n) };
      case 'StringLiteral':
        return { kind: 'string', value: unquoteString(this.text(n)) };
      case 'ParenExpr': {
        const inner = n.children[0];
        if (!inner) this.fail(n, 'empty parentheses');
        return { kind: 'paren', expr: this.expr(inner) };
      }
      case 'UnaryExpr': {
        const [op, inner] = n.children;
        if (!op || !inner) this.fail(n, 'bad unary expression');
        const e = this.expr(inner);
        const t = typeOf(e);
        if (t !== 'scalar' && t !== 'vector')
          this.fail(
            n,
            'unary expression only allowed on expressions of type scalar or instant vector, got ' +
              typeName(t),
          );
        return { kind: 'unary', op: this.text(op).trim() === '-' ? '-' : '+', expr: e };
      }
      case 'VectorSelector':
        return this.vectorSelector(n);
      case 'MatrixSelector':
        return this.matrixSelector(n);
      case 'SubqueryExpr':
        return this.subquery(n);
      case 'OffsetExpr':
        return this.offsetExpr(n);
      case 'StepInvariantExpr':
        return this.atExpr(n);
      case 'BinaryExpr':
        return this.binary(n);
      case 'AggregateExpr':
        return this.aggregate(n);
      case 'FunctionCall':
        return this.call(n);
      default:
        return this.fail(n, `unexpected ${n.name} ${JSON.stringify(this.text(n))}`);
    }
  }

  number(n: Node): number {
    try {
      return parseGoFloat(this.text(n).replace(/\s+/g, ''));
    } catch {
      return this.fail(n, `bad number or duration syntax: ${JSON.stringify(this.text(n))}`);
    }
  }

  duration(n: Node): number {
    try {
      return parseDuration(this.text(n));
    } catch (err) {
      return this.fail(n, (err as Error).message);
    }
  }

  vectorSelector(n: Node): VectorSelector {
    let name: string | undefined;
    const matchers: Matcher[] = [];
    for (const c of n.children) {
      if (c.name === 'Identifier' || c.name === 'MetricName') name = this.text(c);
      else if (c.name === 'LabelMatchers') {
        for (const lm of c.children) {
          if (lm.name !== 'LabelMatcher') continue;
          matchers.push(this.matcher(lm));
        }
      }
    }
    if (name !== undefined) {
      if (matchers.some((m) => m.name === METRIC_NAME))
        this.fail(n, `metric name must not be set twice: ${JSON.stringify(name)}`);
      matchers.unshift({ name: METRIC_NAME, type: '=', value: name });
    }
    if (!matchers.some((m) => !matchesEmpty(m)))
      this.fail(n, 'vector selector must contain at least one non-empty matcher');
    return { kind: 'vectorSelector', ...(name !== undefined ? { name } : {}), matchers, offset: 0 };
  }

  matcher(n: Node): Matcher {
    const nameNode = n.children.find((c) => c.name === 'LabelName');
    const opNode = n.children.find((c) => c.name === 'MatchOp');
    const valNode = n.children.find((c) => c.name === 'StringLiteral');
    if (!nameNode || !opNode || !valNode) this.fail(n, 'bad label matcher');
    const op = this.text(opNode).trim() as Matcher['type'];
    const value = unquoteString(this.text(valNode));
    const name = this.text(nameNode);
    if (op === '=~' || op === '!~') {
      try {
        return { name, type: op, value, re: compileAnchoredRegex(value) };
      } catch (err) {
        return this.fail(valNode, (err as Error).message);
      }
    }
    return { name, type: op, value };
  }

  matrixSelector(n: Node): MatrixSelector {
    const [inner, dur] = n.children;
    if (!inner || !dur) this.fail(n, 'bad range selector');
    const e = this.expr(inner);
    if (e.kind !== 'vectorSelector') this.fail(n, 'ranges only allowed for vector selectors');
    if (e.offset !== 0 || e.at) this.fail(n, 'no offset or @ modifiers allowed before range');
    return { kind: 'matrixSelector', vs: e, range: this.duration(dur) };
  }

  subquery(n: Node): SubqueryExpr {
    const [inner, range, step] = n.children;
    if (!inner || !range) this.fail(n, 'bad subquery');
    const e = this.expr(inner);
    const t = typeOf(e);
    if (t !== 'vector')
      this.fail(n, `subquery is only allowed on instant vector, got ${typeName(t)} instead`);
    return {
      kind: 'subquery',
      expr: e,
      range: this.duration(range),
      step: step && step.name === 'Duration' ? this.duration(step) : 0,
      offset: 0,
    };
  }

  /** The node that an offset or @ modifier applies to. */
  target(e: Expr, n: Node): VectorSelector | SubqueryExpr {
    if (e.kind === 'vectorSelector' || e.kind === 'subquery') return e;
    if (e.kind === 'matrixSelector') return e.vs;
    // The grammar attaches a trailing modifier to the whole unary/binary expression before it;
    // in PromQL it binds to the selector directly in front of it.
    if (e.kind === 'unary') return this.target(e.expr, n);
    if (e.kind === 'binary') return this.target(e.rhs, n);
    return this.fail(
      n,
      'offset/@ modifier must be preceded by an instant vector selector or range vector selector or a subquery',
    );
  }

  offsetExpr(n: Node): Expr {
    const inner = n.children[0];
    const dur = n.children.find((c) => c.name === 'Duration');
    if (!inner || !dur) this.fail(n, 'bad offset');
    const e = this.expr(inner);
    const t = this.target(e, n);
    if (t.offset !== 0) this.fail(n, 'offset may not be set multiple times');
    const neg = n.children.some((c) => c.name === 'Sub');
    t.offset = (neg ? -1 : 1) * this.duration(dur);
    return e;
  }

  atExpr(n: Node): Expr {
    const inner = n.children[0];
    if (!inner) this.fail(n, 'bad @ modifier');
    const e = this.expr(inner);
    const t = this.target(e, n);
    if (t.at) this.fail(n, '@ <timestamp> may not be set multiple times');
    const num = n.children.find((c) => c.name === 'NumberLiteral');
    const pre = n.children.find((c) => c.name === 'AtModifierPreprocessors');
    let at: AtModifier;
    if (num) {
      const v = this.number(num);
      if (!Number.isFinite(v)) this.fail(num, 'timestamp out of bounds for @ modifier');
      at = { kind: 'time', ms: Math.round(v * 1000) };
    } else if (pre) {
      at = this.text(pre).startsWith('start') ? { kind: 'start' } : { kind: 'end' };
    } else return this.fail(n, 'bad @ modifier');
    t.at = at;
    return e;
  }

  binary(n: Node): Expr {
    const lhsNode = n.children[0];
    const rhsNode = n.children[n.children.length - 1];
    const opNode = n.children[1];
    if (!lhsNode || !rhsNode || !opNode || n.children.length < 3) this.fail(n, 'bad binary expression');
    const op = BINARY_OPS[opNode.name];
    if (!op) this.fail(opNode, `unknown operator ${this.text(opNode)}`);
    const returnBool = n.children.some((c) => c.name === 'BoolModifier');
    const mm = n.children.find((c) => c.name === 'MatchingModifierClause');
    // The grammar folds a sign into a number literal; PromQL's unary minus binds looser than ^.
    if (op === '^' && lhsNode.name === 'NumberLiteral' && /^[+-]/.test(this.text(lhsNode))) {
      const txt = this.text(lhsNode);
      const abs: Expr = { kind: 'number', value: parseGoFloat(txt.slice(1).trim()) };
      const inner: Expr = this.finishBinary(n, op, abs, this.expr(rhsNode), returnBool, mm);
      return txt.startsWith('-') ? { kind: 'unary', op: '-', expr: inner } : inner;
    }
    return this.finishBinary(n, op, this.expr(lhsNode), this.expr(rhsNode), returnBool, mm);
  }

  finishBinary(n: Node, op: BinaryOp, lhs: Expr, rhs: Expr, returnBool: boolean, mm: Node | undefined): Expr {
    const lt = typeOf(lhs);
    const rt = typeOf(rhs);
    for (const t of [lt, rt]) {
      if (t !== 'scalar' && t !== 'vector')
        this.fail(n, 'binary expression must contain only scalar and instant vector types');
    }
    if (returnBool && !isComparison(op))
      this.fail(n, 'bool modifier can only be used on comparison operators');
    if (isComparison(op) && !returnBool && lt === 'scalar' && rt === 'scalar')
      this.fail(n, 'comparisons between scalars must use BOOL modifier');
    if (isSetOperator(op) && (lt === 'scalar' || rt === 'scalar'))
      this.fail(n, `set operator "${op}" not allowed in binary scalar expression`);
    let matching: VectorMatching | undefined;
    if (lt === 'vector' && rt === 'vector') {
      matching = {
        card: isSetOperator(op) ? 'many-to-many' : 'one-to-one',
        on: false,
        labels: [],
        include: [],
      };
    }
    if (mm) {
      if (!matching) this.fail(n, 'vector matching only allowed between instant vectors');
      const on = mm.children.some((c) => c.name === 'On');
      const groupLeft = mm.children.some((c) => c.name === 'GroupLeft');
      const groupRight = mm.children.some((c) => c.name === 'GroupRight');
      const groups = mm.children.filter((c) => c.name === 'GroupingLabels').map((g) => this.labelList(g));
      const labels = groups[0] ?? [];
      const include = groups[1] ?? [];
      let card = matching.card;
      if (groupLeft || groupRight) {
        if (isSetOperator(op)) this.fail(n, `no grouping allowed for "${op}" operation`);
        card = groupLeft ? 'many-to-one' : 'one-to-many';
      }
      if (on) {
        for (const l of include)
          if (labels.includes(l)) this.fail(n, `label "${l}" must not occur in ON and GROUP clause at once`);
      }
      matching = { card, on, labels, include };
    }
    return { kind: 'binary', op, lhs, rhs, returnBool, ...(matching ? { matching } : {}) };
  }

  labelList(n: Node): string[] {
    return n.children.filter((c) => c.name === 'LabelName').map((c) => this.text(c));
  }

  aggregate(n: Node): Expr {
    const opNode = n.children.find((c) => c.name === 'AggregateOp');
    const body = n.children.find((c) => c.name === 'FunctionCallBody');
    const mod = n.children.find((c) => c.name === 'AggregateModifier');
    if (!opNode || !body) this.fail(n, 'bad aggregation');
    const op = this.text(opNode).toLowerCase() as AggregateOp;
    const args = body.children.map((c) => this.expr(c));
    const withParam = op === 'topk' || op === 'bottomk' || op === 'quantile' || op === 'count_values';
    if (args.length !== (withParam ? 2 : 1))
      this.fail(
        n,
        `wrong number of arguments for aggregate expression provided, expected ${withParam ? 2 : 1}, got ${args.length}`,
      );
    const expr = args[args.length - 1] as Expr;
    if (typeOf(expr) !== 'vector')
      this.fail(n, `expected type instant vector in aggregation expression, got ${typeName(typeOf(expr))}`);
    const param = withParam ? args[0] : undefined;
    if (param) {
      const want: ValueType = op === 'count_values' ? 'string' : 'scalar';
      if (typeOf(param) !== want)
        this.fail(
          n,
          `expected type ${typeName(want)} in aggregation parameter, got ${typeName(typeOf(param))}`,
        );
    }
    let grouping: string[] = [];
    let without = false;
    if (mod) {
      without = mod.children.some((c) => c.name === 'Without');
      const g = mod.children.find((c) => c.name === 'GroupingLabels');
      grouping = g ? this.labelList(g) : [];
    }
    return { kind: 'aggregate', op, expr, ...(param ? { param } : {}), grouping, without };
  }

  call(n: Node): Expr {
    const id = n.children.find((c) => c.name === 'FunctionIdentifier');
    const body = n.children.find((c) => c.name === 'FunctionCallBody');
    if (!id || !body) this.fail(n, 'bad function call');
    const func = this.text(id);
    const sig = FUNCTIONS[func];
    if (!sig) this.fail(id, `unknown function with name ${JSON.stringify(func)}`);
    const args = body.children.map((c) => this.expr(c));
    const min = sig.variadic !== 0 ? sig.args.length - 1 : sig.args.length;
    const max = sig.variadic < 0 ? Infinity : sig.args.length;
    if (args.length < min || args.length > max) {
      this.fail(
        n,
        `expected ${min === max ? min : `at least ${min}`} argument(s) in call to ${JSON.stringify(func)}, got ${args.length}`,
      );
    }
    args.forEach((a, i) => {
      const want = sig.args[Math.min(i, sig.args.length - 1)] as ValueType;
      const got = typeOf(a);
      if (got !== want)
        this.fail(
          n,
          `expected type ${typeName(want)} in call to function ${JSON.stringify(func)}, got ${typeName(got)}`,
        );
    });
    return { kind: 'call', func, args };
  }
}

function matchesEmpty(m: Matcher): boolean {
  switch (m.type) {
    case '=':
      return m.value === '';
    case '!=':
      return m.value !== '';
    case '=~':
      return m.re?.test('') ?? false;
    case '!~':
      return !(m.re?.test('') ?? true);
  }
}

/** Prometheus' names of value types in error messages. */
export function typeName(t: ValueType): string {
  return t === 'vector' ? 'instant vector' : t === 'matrix' ? 'range vector' : t;
}

/** Parses a PromQL expression into an AST, with Prometheus' static checks. */
export function parsePromQL(input: string): Expr {
  if (input.trim() === '') throw new PromQLParseError('no expression found in input');
  const root = toTree(input);
  const err = findError(root);
  if (err)
    throw new PromQLParseError(
      `parse error at char ${err.from + 1}: unexpected input ${JSON.stringify(input.slice(err.from, err.from + 10))}`,
      err.from,
    );
  const top = root.children.filter((c) => c.name !== 'LineComment');
  if (top.length !== 1 || !top[0]) throw new PromQLParseError('parse error: expected a single expression');
  return new Builder(input).expr(top[0]);
}

/** Parses a metric selector (as used by /api/v1/series `match[]`). */
export function parseMetricSelector(input: string): readonly Matcher[] {
  const e = parsePromQL(input);
  if (e.kind !== 'vectorSelector' || e.offset !== 0 || e.at)
    throw new PromQLParseError(`invalid metric selector ${JSON.stringify(input)}`);
  return e.matchers;
}

/** Whether a matcher matches a (possibly empty) label value. */
export function matcherMatches(m: Matcher, value: string): boolean {
  switch (m.type) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return m.re?.test(value) ?? false;
    case '!~':
      return !(m.re?.test(value) ?? false);
  }
}

export { isValidLabelName };
