/**
 * The reference evaluator: the simplest possible reading of the rules, kept independent of `evaluate.ts`
 * (no compilation, no index, globs interpreted by recursion) so the differential test can compare the two.
 * Not for production use: it is slow on purpose.
 */
import type { AuthzRequest, Decision, Policy } from '../types.js';
import { evaluateCondition } from './condition.js';
import { parseResource } from './resource.js';

/** Glob match by recursion over (pattern position, text position). */
export function referenceGlobMatch(pattern: string, text: string): boolean {
  const memo = new Map<number, boolean>();
  const go = (p: number, t: number): boolean => {
    const key = p * (text.length + 1) + t;
    const seen = memo.get(key);
    if (seen !== undefined) return seen;
    let out: boolean;
    if (p === pattern.length) out = t === text.length;
    else if (pattern[p] === '*') out = go(p + 1, t) || (t < text.length && go(p, t + 1));
    else if (t === text.length) out = false;
    else if (pattern[p] === '?') out = go(p + 1, t + 1);
    else out = pattern[p] === text[t] && go(p + 1, t + 1);
    memo.set(key, out);
    return out;
  };
  return go(0, 0);
}

function patternMatches(p: unknown, text: string): boolean {
  if (typeof p === 'string') return referenceGlobMatch(p, text);
  if (!Array.isArray(p) || p.length === 0) return false;
  for (const x of p) {
    if (typeof x !== 'string') return false;
  }
  return p.some((x: string) => referenceGlobMatch(x, text));
}

/** Decide `req` by checking every rule of every policy in order. */
export function referenceEvaluate(policies: readonly Policy[], req: AuthzRequest): Decision {
  let firstAllow: Decision | undefined;
  for (const policy of policies) {
    const rules = Array.isArray(policy.rules) ? policy.rules : [];
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i];
      if (rule === undefined || rule === null || typeof rule !== 'object') continue;
      if (rule.effect !== 'Allow' && rule.effect !== 'Deny') continue;
      if (!patternMatches(rule.action, req.action)) continue;
      if (!patternMatches(rule.resource, req.resource)) continue;
      if (typeof rule.condition === 'string' && rule.condition !== '') {
        const ok = evaluateCondition(rule.condition, {
          action: req.action,
          resource: parseResource(req.resource),
          context: req.context,
        });
        if (!ok) continue;
      }
      const matched = { policy_id: policy.id, rule_index: i };
      if (rule.effect === 'Deny') return { decision: 'deny', reason: 'explicit-deny', matched };
      if (firstAllow === undefined) firstAllow = { decision: 'allow', reason: 'allow', matched };
    }
  }
  return firstAllow ?? { decision: 'deny', reason: 'implicit-deny' };
}
