/**
 * Escalation checks: nobody grants what they do not hold. Before a binding, a membership, a role or a
 * policy is written, the rules it would grant must be covered by the caller's own policies in that
 * scope (@photoncloud/authz `canGrant`, sound and conservative). Platform administrators hold
 * everything.
 */
import { ForbiddenError } from '@photoncloud/errors';
import { canGrant } from '@photoncloud/authz';
import type { BindingScope, Rule } from '@photoncloud/authz';
import type { FastifyRequest } from 'fastify';
import type { IamContext } from '../iam-context.js';
import { callerOf } from './guards.js';

/** 403 unless the caller may grant `rules` in `scope`. */
export async function assertCanGrantRules(
  request: FastifyRequest,
  ctx: IamContext,
  rules: readonly Rule[],
  scope: BindingScope,
  what: string,
): Promise<void> {
  const p = callerOf(request);
  if (p.isAdmin) return;
  const held = await ctx.access.heldPolicies(p, scope);
  const check = canGrant(held, rules, scope);
  if (!check.ok) {
    throw new ForbiddenError(`You cannot grant ${what}: it allows more than you hold in this scope`, {
      details: { reason: check.reason, rule_index: check.rule_index, scope },
      hint: 'Ask someone who holds these permissions in this scope',
    });
  }
}

/** 403 unless the caller may grant role `role` (or policy `policyId`) in `scope`. */
export async function assertCanGrantRole(
  request: FastifyRequest,
  ctx: IamContext,
  role: string,
  scope: BindingScope,
  policyId?: string,
): Promise<void> {
  const policies =
    policyId !== undefined ? [await ctx.access.getPolicy(policyId)] : await ctx.access.policiesOfRole(role);
  if (policyId === undefined) await ctx.access.getRole(role); // 404 for unknown roles
  const rules = policies.flatMap((p) => p.rules);
  await assertCanGrantRules(
    request,
    ctx,
    rules,
    scope,
    policyId !== undefined ? `policy ${policyId}` : `role ${role}`,
  );
}
