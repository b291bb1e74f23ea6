/**
 * The authorization data model (issue 4): policies, roles, bindings and revocations as IAM stores them
 * in the control-plane store, and the decision types of the evaluator. This file is the contract between
 * the IAM service (writer) and every service that enforces (reader via `Authorizer`).
 *
 * Store layout (values are JSON):
 * - `/photoncloud/iam/policies/<id>` → `Policy`
 * - `/photoncloud/iam/roles/<name>` → `Role` (built-in roles are defined in code, see `BUILTIN_ROLES`)
 * - `/photoncloud/iam/bindings/<principal_id>/<id>` → `Binding`
 * - `/photoncloud/iam/revoked/<jti>` → `RevokedToken` (with a lease expiring after the token's exp)
 * - `/photoncloud/iam/revoked-principals/<principal_id>` → `RevokedPrincipal`
 */

/** Effect of a rule. */
export type Effect = 'Allow' | 'Deny';

/**
 * One statement of a policy. `action` and `resource` are glob patterns: `*` matches any run of characters
 * (including `:` and `/`), `?` exactly one character; every other character matches itself. A list means
 * "any of". `condition` is an expression in the condition language (see `core/condition.ts`).
 */
export interface Rule {
  effect: Effect;
  action: string | string[];
  resource: string | string[];
  condition?: string;
}

/** A named set of rules, stored at `/photoncloud/iam/policies/<id>`. */
export interface Policy {
  id: string;
  name: string;
  description?: string;
  rules: Rule[];
  org_id?: string;
  project_id?: string;
  /** RFC 3339. */
  created_at: string;
  /** RFC 3339. */
  updated_at: string;
  version?: number;
}

/** A named set of policies, stored at `/photoncloud/iam/roles/<name>`. */
export interface Role {
  name: string;
  description?: string;
  policy_ids: string[];
  /** True for the roles defined in code (`admin`, `editor`, `viewer`); these cannot be changed. */
  builtin?: boolean;
}

/** Where a binding applies; no field = platform-wide, `org_id` only = the whole org. */
export interface BindingScope {
  org_id?: string;
  project_id?: string;
}

/**
 * Grants a role or a single policy to a principal within a scope; stored at
 * `/photoncloud/iam/bindings/<principal_id>/<id>`. Exactly one of `role` / `policy_id` is set.
 */
export interface Binding {
  id: string;
  principal_id: string;
  role?: string;
  policy_id?: string;
  scope: BindingScope;
  /** RFC 3339. */
  created_at: string;
}

/** A revoked token, at `/photoncloud/iam/revoked/<jti>`; `exp` in epoch seconds. */
export interface RevokedToken {
  jti: string;
  exp: number;
}

/** Every token of the principal issued (iat) before `not_before` (epoch seconds) is revoked. */
export interface RevokedPrincipal {
  not_before: number;
}

/** Attributes of the caller visible to conditions. */
export interface ConditionUser {
  id: string;
  roles: string[];
  org_id?: string;
  project_id?: string;
}

/** Attributes of the request visible to conditions. */
export interface ConditionRequest {
  method?: string;
  ip?: string;
  /** RFC 3339 time of the request (the evaluator has no clock). */
  time?: string;
}

/** Everything a condition can refer to. */
export interface AuthzContext {
  user?: ConditionUser;
  request?: ConditionRequest;
}

/** One authorization question: may `context.user` perform `action` on `resource`? */
export interface AuthzRequest {
  /** `<service>:<type>:<verb>`, e.g. `plasmavmc:vms:start`. */
  action: string;
  /** `prn:<service>:<org|*>:<project|*>:<type>/<id|*>`. */
  resource: string;
  context?: AuthzContext;
}

/** Why a decision was taken. */
export type DecisionReason = 'explicit-deny' | 'allow' | 'implicit-deny';

/** The answer of the evaluator. */
export interface Decision {
  decision: 'allow' | 'deny';
  reason: DecisionReason;
  /** The rule that decided (absent for implicit deny). */
  matched?: { policy_id: string; rule_index: number };
}

/** Parsed parts of a resource name (`prn:<service>:<org>:<project>:<type>/<id>`). */
export interface ResourceName {
  service: string;
  org_id: string;
  project_id: string;
  type: string;
  id: string;
}

/** Key prefixes of the IAM state in the store. */
export const IAM_KEYS = {
  root: '/photoncloud/iam/',
  policies: '/photoncloud/iam/policies/',
  roles: '/photoncloud/iam/roles/',
  bindings: '/photoncloud/iam/bindings/',
  revoked: '/photoncloud/iam/revoked/',
  revokedPrincipals: '/photoncloud/iam/revoked-principals/',
} as const;
