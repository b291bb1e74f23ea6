/**
 * The policy evaluator (pure). Given the policies that apply to a request (already selected by the
 * caller's bindings and their scopes), decide: an explicit Deny beats an Allow, which beats the implicit
 * deny. `matched` names the first deciding rule in (policy order, rule order).
 *
 * Speed: each policy set is compiled once — globs to matchers, conditions to ASTs — and its rules are
 * indexed by two keys: the service of their action pattern (`vpc:*` → `vpc`) and the service of their
 * resource pattern (`prn:vpc:*` → `vpc`), each `*` when the pattern does not fix it. A decision merges the
 * (at most) four buckets that can hold matching rules: (a, r), (a, *), (*, r), (*, *).
 */
import type { AuthzRequest, Decision, Policy } from '../types.js';
import { evaluateCondition } from './condition.js';
import { compileMatcher, literalPrefix } from './glob.js';
import type { Matcher } from './glob.js';
import { parseResource } from './resource.js';

interface CompiledRule {
  /** Position in the whole set (policy index * 2^20 + rule index), for first-match order. */
  order: number;
  policyId: string;
  ruleIndex: number;
  deny: boolean;
  action: Matcher;
  resource: Matcher;
  condition: string | undefined;
}

const ANY = '*';
const NOT_PRN = '\u0001';

/** Index key of an action: its service (the part before the first ':'). */
function actionKey(action: string): string {
  const colon = action.indexOf(':');
  return colon < 0 ? action : action.slice(0, colon);
}

/** Index key of a resource: the service of a `prn:<service>:…`, or NOT_PRN for anything else. */
function resourceKey(resource: string): string {
  if (!resource.startsWith('prn:')) return NOT_PRN;
  const colon = resource.indexOf(':', 4);
  return colon < 0 ? NOT_PRN : resource.slice(4, colon);
}

/** The action key every string matched by `p` has, or ANY when it cannot be told from the pattern. */
function actionPatternKey(p: string): string {
  const prefix = literalPrefix(p);
  if (prefix.includes(':') || prefix.length === p.length) return actionKey(prefix);
  return ANY;
}

/** The resource key every string matched by `p` has, or ANY. */
function resourcePatternKey(p: string): string {
  const prefix = literalPrefix(p);
  if (prefix.length === p.length) return resourceKey(p);
  if (prefix.startsWith('prn:') && prefix.indexOf(':', 4) >= 0) return resourceKey(prefix);
  const head = prefix.slice(0, 4);
  return 'prn:'.startsWith(head) ? ANY : NOT_PRN;
}

function keys(pattern: string | readonly string[], keyOf: (p: string) => string): string[] {
  return [...new Set((typeof pattern === 'string' ? [pattern] : pattern).map(keyOf))];
}

/** A compiled, indexed set of policies; reuse it for many decisions. */
export class PolicySet {
  /** Rules by `<action key>\u0000<resource key>`; each list in set order. */
  private readonly buckets = new Map<string, CompiledRule[]>();
  /** Number of rules in the set. */
  readonly size: number;

  constructor(policies: readonly Policy[]) {
    let size = 0;
    policies.forEach((policy, pi) => {
      const rules = Array.isArray(policy.rules) ? policy.rules : [];
      rules.forEach((rule, ri) => {
        if (rule === null || typeof rule !== 'object') return;
        if (rule.effect !== 'Allow' && rule.effect !== 'Deny') return;
        if (!validPattern(rule.action) || !validPattern(rule.resource)) return;
        const compiled: CompiledRule = {
          order: pi * 1_048_576 + ri,
          policyId: policy.id,
          ruleIndex: ri,
          deny: rule.effect === 'Deny',
          action: compileMatcher(rule.action),
          resource: compileMatcher(rule.resource),
          condition: typeof rule.condition === 'string' && rule.condition !== '' ? rule.condition : undefined,
        };
        size++;
        // A rule with pattern lists may sit in several buckets; the merge in `evaluate` skips repeats.
        for (const a of keys(rule.action, actionPatternKey)) {
          for (const r of keys(rule.resource, resourcePatternKey)) {
            const k = `${a}\u0000${r}`;
            let list = this.buckets.get(k);
            if (list === undefined) this.buckets.set(k, (list = []));
            list.push(compiled);
          }
        }
      });
    });
    this.size = size;
  }

  /** Decide one request. Never throws. */
  evaluate(req: AuthzRequest): Decision {
    const a = actionKey(req.action);
    const r = resourceKey(req.resource);
    const lists: CompiledRule[][] = [];
    for (const k of [`${a}\u0000${r}`, `${a}\u0000${ANY}`, `${ANY}\u0000${r}`, `${ANY}\u0000${ANY}`]) {
      const l = this.buckets.get(k);
      if (l !== undefined && !lists.includes(l)) lists.push(l);
    }
    const pos = lists.map(() => 0);
    let allow: CompiledRule | undefined;
    let last = -1;
    let parsed = false;
    let resourceName: ReturnType<typeof parseResource>;
    for (;;) {
      // k-way merge in set order: the first matching Deny, else the first matching Allow.
      let best = -1;
      let rule: CompiledRule | undefined;
      for (let i = 0; i < lists.length; i++) {
        const c = (lists[i] as CompiledRule[])[pos[i] as number];
        if (c !== undefined && (rule === undefined || c.order < rule.order)) {
          rule = c;
          best = i;
        }
      }
      if (rule === undefined) break;
      pos[best] = (pos[best] as number) + 1;
      if (rule.order === last) continue;
      last = rule.order;
      if (allow !== undefined && !rule.deny) continue;
      if (!rule.action(req.action) || !rule.resource(req.resource)) continue;
      if (rule.condition !== undefined) {
        if (!parsed) {
          resourceName = parseResource(req.resource);
          parsed = true;
        }
        if (
          !evaluateCondition(rule.condition, {
            action: req.action,
            resource: resourceName,
            context: req.context,
          })
        ) {
          continue;
        }
      }
      if (rule.deny) {
        return {
          decision: 'deny',
          reason: 'explicit-deny',
          matched: { policy_id: rule.policyId, rule_index: rule.ruleIndex },
        };
      }
      allow = rule;
    }
    if (allow !== undefined) {
      return {
        decision: 'allow',
        reason: 'allow',
        matched: { policy_id: allow.policyId, rule_index: allow.ruleIndex },
      };
    }
    return { decision: 'deny', reason: 'implicit-deny' };
  }
}

function validPattern(p: unknown): p is string | string[] {
  if (typeof p === 'string') return true;
  return Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string');
}

const compiledSets = new WeakMap<readonly Policy[], PolicySet>();

/**
 * Decide `req` against `policies`. The compiled form is cached per array (by identity), so callers that
 * evaluate the same array repeatedly pay for compilation once; `PolicySet` can also be used directly.
 */
export function evaluate(policies: readonly Policy[], req: AuthzRequest): Decision {
  let set = compiledSets.get(policies);
  if (set === undefined) {
    set = new PolicySet(policies);
    compiledSets.set(policies, set);
  }
  return set.evaluate(req);
}
