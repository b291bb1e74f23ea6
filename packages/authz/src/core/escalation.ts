/**
 * Escalation check (pure): nobody grants what they do not hold. Granting a set of rules in a scope is
 * allowed only when every Allow rule granted — restricted to the scope — is provably within what the granter
 * is allowed there. The check is sound and conservative: a granted (action, resource) pair must be covered
 * by ONE unconditional Allow rule of the granter (or one whose condition is the same text as the granted
 * rule's), and it must not overlap any Deny rule of the granter (conditional denies count, since they may
 * apply). Granting Deny rules never adds power and is always allowed.
 */
import type { BindingScope, Policy, Rule } from '../types.js';
import { globIncluded, globsIntersect } from './glob-algebra.js';

/** Outcome of `canGrant`; `reason` says which granted rule is not covered. */
export type GrantCheck = { ok: true } | { ok: false; reason: string; rule_index: number };

function list(p: string | string[] | unknown): string[] | undefined {
  if (typeof p === 'string') return [p];
  if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string')) return p as string[];
  return undefined;
}

/** Resource pattern of a scope: what a binding in `scope` can reach. */
export function scopePattern(scope: BindingScope): string {
  if (scope.org_id === undefined && scope.project_id === undefined) return '*';
  return `prn:*:${scope.org_id ?? '*'}:${scope.project_id ?? '*'}:*`;
}

/**
 * May a principal holding `granterPolicies` (the policies that apply to it in `scope`) grant `grantedRules`
 * in `scope`?
 */
export function canGrant(
  granterPolicies: readonly Policy[],
  grantedRules: readonly Rule[],
  scope: BindingScope,
): GrantCheck {
  const allows: Array<{ action: string[]; resource: string[]; condition: string | undefined }> = [];
  const denies: Array<{ action: string[]; resource: string[] }> = [];
  for (const p of granterPolicies) {
    for (const r of Array.isArray(p.rules) ? p.rules : []) {
      const action = list(r.action);
      const resource = list(r.resource);
      if (action === undefined || resource === undefined) continue;
      if (r.effect === 'Deny') denies.push({ action, resource });
      else if (r.effect === 'Allow') {
        allows.push({
          action,
          resource,
          condition: typeof r.condition === 'string' && r.condition !== '' ? r.condition : undefined,
        });
      }
    }
  }
  const sp = scopePattern(scope);
  for (let i = 0; i < grantedRules.length; i++) {
    const g = grantedRules[i] as Rule;
    if (g.effect === 'Deny') continue;
    const actions = list(g.action);
    const resources = list(g.resource);
    if (actions === undefined || resources === undefined) {
      return { ok: false, reason: `rule ${i}: action and resource must be patterns`, rule_index: i };
    }
    const cond = typeof g.condition === 'string' && g.condition !== '' ? g.condition : undefined;
    for (const a of actions) {
      for (const r of resources) {
        const covered = allows.some(
          (al) =>
            (al.condition === undefined || al.condition === cond) &&
            globIncluded([a], al.action) &&
            globIncluded([r, sp], al.resource),
        );
        if (!covered) {
          return { ok: false, reason: `rule ${i}: you do not hold ${a} on ${r}`, rule_index: i };
        }
        for (const d of denies) {
          const hit =
            d.action.some((da) => globsIntersect([a, da])) &&
            d.resource.some((dr) => globsIntersect([r, sp, dr]));
          if (hit) {
            return {
              ok: false,
              reason: `rule ${i}: ${a} on ${r} overlaps a Deny you are subject to`,
              rule_index: i,
            };
          }
        }
      }
    }
  }
  return { ok: true };
}
