import type { Labels } from './labels.js';

/** PromQL value types. */
export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

/** A label matcher. */
export interface Matcher {
  readonly name: string;
  readonly type: '=' | '!=' | '=~' | '!~';
  readonly value: string;
  /** Compiled, fully anchored regex for =~ and !~. */
  readonly re?: RegExp;
}

/** `@` modifier: a fixed time in ms, or the query's start/end. */
export type AtModifier =
  { readonly kind: 'time'; readonly ms: number } | { readonly kind: 'start' } | { readonly kind: 'end' };

/** Instant vector selector. */
export interface VectorSelector {
  readonly kind: 'vectorSelector';
  readonly name?: string;
  readonly matchers: readonly Matcher[];
  offset: number;
  at?: AtModifier;
}

/** Range vector selector. */
export interface MatrixSelector {
  readonly kind: 'matrixSelector';
  readonly vs: VectorSelector;
  readonly range: number;
}

/** Subquery `expr[range:step]`. */
export interface SubqueryExpr {
  readonly kind: 'subquery';
  readonly expr: Expr;
  readonly range: number;
  /** 0 means the default subquery step. */
  readonly step: number;
  offset: number;
  at?: AtModifier;
}

/** Vector matching of a binary operation. */
export interface VectorMatching {
  readonly card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  readonly on: boolean;
  readonly labels: readonly string[];
  readonly include: readonly string[];
}

/** Binary operators. */
export type BinaryOp =
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '^'
  | 'atan2'
  | '=='
  | '!='
  | '>'
  | '<'
  | '>='
  | '<='
  | 'and'
  | 'or'
  | 'unless';

/** Aggregation operators. */
export type AggregateOp =
  | 'sum'
  | 'avg'
  | 'min'
  | 'max'
  | 'count'
  | 'group'
  | 'stddev'
  | 'stdvar'
  | 'topk'
  | 'bottomk'
  | 'quantile'
  | 'count_values';

/** A PromQL expression tree. */
export type Expr =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | VectorSelector
  | MatrixSelector
  | SubqueryExpr
  | { readonly kind: 'paren'; readonly expr: Expr }
  | { readonly kind: 'unary'; readonly op: '-' | '+'; readonly expr: Expr }
  | {
      readonly kind: 'binary';
      readonly op: BinaryOp;
      readonly lhs: Expr;
      readonly rhs: Expr;
      readonly returnBool: boolean;
      readonly matching?: VectorMatching;
    }
  | {
      readonly kind: 'aggregate';
      readonly op: AggregateOp;
      readonly expr: Expr;
      readonly param?: Expr;
      readonly grouping: readonly string[];
      readonly without: boolean;
    }
  | { readonly kind: 'call'; readonly func: string; readonly args: readonly Expr[] };

/** One sample of an instant vector. `t` is the sample's own timestamp (ms), used by timestamp(). */
export interface Sample {
  readonly metric: Labels;
  readonly t: number;
  readonly v: number;
}

/** A series of points (a range vector element or a query_range result). */
export interface Series {
  readonly metric: Labels;
  readonly t: number[];
  readonly v: number[];
}

/** The static type of an expression. */
export function typeOf(e: Expr): ValueType {
  switch (e.kind) {
    case 'number':
      return 'scalar';
    case 'string':
      return 'string';
    case 'vectorSelector':
      return 'vector';
    case 'matrixSelector':
    case 'subquery':
      return 'matrix';
    case 'paren':
      return typeOf(e.expr);
    case 'unary':
      return typeOf(e.expr);
    case 'binary':
      return typeOf(e.lhs) === 'scalar' && typeOf(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'aggregate':
      return 'vector';
    case 'call':
      return FUNCTION_RETURN[e.func] ?? 'vector';
  }
}

const FUNCTION_RETURN: Record<string, ValueType> = { time: 'scalar', scalar: 'scalar', pi: 'scalar' };
