/** `@photoncloud/authz`: the authorization data model, the policy evaluator and the enforcing side. */
export * from './types.js';
export * from './builtin.js';
export { parseResource, formatResource } from './core/resource.js';
export { compileMatcher, globToRegExp } from './core/glob.js';
export { globIncluded, globsIntersect } from './core/glob-algebra.js';
export {
  validateCondition,
  evaluateCondition,
  compileCondition,
  ipInCidr,
  CONDITION_IDENTIFIERS,
  MAX_CONDITION_LENGTH,
} from './core/condition.js';
export type { ConditionInput, CompiledCondition } from './core/condition.js';
export { evaluate, PolicySet } from './core/evaluate.js';
export { referenceEvaluate } from './core/reference.js';
export { canGrant, scopePattern } from './core/escalation.js';
export type { GrantCheck } from './core/escalation.js';
export { deriveRequest } from './core/derive.js';
export type { RouteRequest, DerivedRequest } from './core/derive.js';
export { Authorizer } from './authorizer.js';
export type { AuthorizerOptions, AuthorizeContext } from './authorizer.js';
export { httpAuthorizer, httpRevocationCheck, requestAuthz } from './http.js';
export type { RouteAuthzConfig } from './http.js';
export { validateRules, MAX_PATTERN_LENGTH, MAX_RULES } from './core/validate.js';
export type { RuleProblem } from './core/validate.js';
