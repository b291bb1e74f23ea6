/**
 * Write-time validation of policy rules (pure), for IAM to answer 400 with every problem at once. The
 * evaluator tolerates whatever is stored (a malformed rule never matches); this keeps it from being stored.
 */
import { validateCondition } from './condition.js';

/** One problem of a rules array; `path` is JSON-pointer-like (`/rules/2/condition`). */
export interface RuleProblem {
  path: string;
  message: string;
}

/** Longest accepted action/resource pattern. */
export const MAX_PATTERN_LENGTH = 1024;
/** Most rules in one policy. */
export const MAX_RULES = 256;

function checkPattern(v: unknown, path: string, out: RuleProblem[]): void {
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? (v as unknown[]) : undefined;
  if (list === undefined || list.length === 0) {
    out.push({ path, message: 'must be a glob pattern or a non-empty list of glob patterns' });
    return;
  }
  list.forEach((p, i) => {
    const at = typeof v === 'string' ? path : `${path}/${i}`;
    if (typeof p !== 'string' || p === '') out.push({ path: at, message: 'must be a non-empty string' });
    else if (p.length > MAX_PATTERN_LENGTH)
      out.push({ path: at, message: `longer than ${MAX_PATTERN_LENGTH} characters` });
  });
}

/** Every problem of `rules` (empty when valid): effect, action, resource, condition syntax. */
export function validateRules(rules: unknown, basePath = '/rules'): RuleProblem[] {
  const out: RuleProblem[] = [];
  if (!Array.isArray(rules)) return [{ path: basePath, message: 'must be a list of rules' }];
  if (rules.length > MAX_RULES) out.push({ path: basePath, message: `at most ${MAX_RULES} rules` });
  rules.forEach((r: unknown, i) => {
    const at = `${basePath}/${i}`;
    if (r === null || typeof r !== 'object' || Array.isArray(r)) {
      out.push({ path: at, message: 'must be an object' });
      return;
    }
    const rule = r as Record<string, unknown>;
    if (rule['effect'] !== 'Allow' && rule['effect'] !== 'Deny') {
      out.push({ path: `${at}/effect`, message: "must be 'Allow' or 'Deny'" });
    }
    checkPattern(rule['action'], `${at}/action`, out);
    checkPattern(rule['resource'], `${at}/resource`, out);
    const c = rule['condition'];
    if (c !== undefined) {
      if (typeof c !== 'string') out.push({ path: `${at}/condition`, message: 'must be a string' });
      else {
        const msg = validateCondition(c);
        if (msg !== null) out.push({ path: `${at}/condition`, message: msg });
      }
    }
  });
  return out;
}
