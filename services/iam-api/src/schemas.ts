/**
 * IAM's REST wire types (guide §3, orchestrator-api.md "Authentication", "User Management", "Policy
 * Management", "Audit Logging"). The same TypeBox schemas validate requests in the server's routes,
 * document them in its OpenAPI, and type the client. Field names are the guide's (snake_case).
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

/** The `iss` claim of every token IAM signs; verifiers require it. */
export const IAM_ISSUER = 'photoncloud-iam';

/** IDs of users, orgs, projects, policies: letters, digits and `._@-`, 1..128 characters. */
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$';
/** Role names: lower-case letters, digits, `-` and `_`. */
export const ROLE_NAME_PATTERN = '^[a-z][a-z0-9_-]{0,63}$';

/** Shortest accepted password (OWASP ASVS 2.1.1 asks for at least 8; we ask for 12). */
export const MIN_PASSWORD_LENGTH = 12;
/** Longest accepted password; argon2 takes any length, the limit only bounds request cost. */
export const MAX_PASSWORD_LENGTH = 1024;

const Id = (description: string) => Type.String({ pattern: ID_PATTERN, description });
const Time = (description: string) => Type.String({ format: 'date-time', description });

/** `user` (a person) or `service_account` (a machine identity). */
export const PrincipalType = Type.Union([Type.Literal('user'), Type.Literal('service_account')]);
/** `user` or `service_account`. */
export type PrincipalType = Static<typeof PrincipalType>;

/** A user or service account as the API shows it (credentials are never shown). */
export const User = Type.Object({
  id: Id('User ID, e.g. user-alice'),
  name: Type.String({ description: 'Display name' }),
  email: Type.Optional(Type.String({ description: 'E-mail address' })),
  type: PrincipalType,
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled')], {
    description: 'Disabled principals cannot log in, and their tokens stop working',
  }),
  org_ids: Type.Array(Type.String(), { description: 'Orgs the principal is a member of' }),
  has_password: Type.Boolean(),
  mfa_enabled: Type.Boolean({ description: 'A confirmed TOTP authenticator is required at login' }),
  created_at: Time('RFC 3339 UTC'),
  updated_at: Time('RFC 3339 UTC'),
  last_login: Type.Optional(Time('Last successful password login')),
});
/** A user or service account. */
export type User = Static<typeof User>;

/** Body of `POST /api/v1/users`. */
export const CreateUserBody = Type.Object({
  id: Type.Optional(Id('User ID; generated (user-…) when absent')),
  name: Type.String({ minLength: 1, maxLength: 256 }),
  email: Type.Optional(Type.String({ format: 'email', maxLength: 320 })),
  type: Type.Optional(PrincipalType),
  org_ids: Type.Optional(Type.Array(Id('org ID'), { maxItems: 100 })),
  password: Type.Optional(
    Type.String({
      minLength: MIN_PASSWORD_LENGTH,
      maxLength: MAX_PASSWORD_LENGTH,
      description: 'Initial password',
    }),
  ),
});
/** Body of a user creation. */
export type CreateUserBody = Static<typeof CreateUserBody>;

/** Body of `PUT|PATCH /api/v1/users/{id}`. */
export const UpdateUserBody = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  email: Type.Optional(Type.String({ format: 'email', maxLength: 320 })),
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
  enabled: Type.Optional(Type.Boolean({ description: 'Alias of status (orchestrator-api.md)' })),
  org_ids: Type.Optional(Type.Array(Id('org ID'), { maxItems: 100 })),
});
/** Body of a user update. */
export type UpdateUserBody = Static<typeof UpdateUserBody>;

/** Body of `POST /api/v1/users/{id}/password`. */
export const SetPasswordBody = Type.Object({
  password: Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH }),
  current_password: Type.Optional(
    Type.String({ maxLength: MAX_PASSWORD_LENGTH, description: 'Required when changing your own password' }),
  ),
});
/** Body of a password change. */
export type SetPasswordBody = Static<typeof SetPasswordBody>;

/** Result of `POST /api/v1/users/{id}/mfa/totp` (enrolment). */
export const TotpEnrollment = Type.Object({
  secret: Type.String({ description: 'Base32 shared secret (shown once)' }),
  otpauth_uri: Type.String({ description: 'otpauth://totp/… URI for authenticator apps' }),
  algorithm: Type.Literal('SHA1'),
  digits: Type.Literal(6),
  period: Type.Literal(30),
});
/** A TOTP enrolment. */
export type TotpEnrollment = Static<typeof TotpEnrollment>;

/** Body of `POST /api/v1/users/{id}/mfa/totp/confirm`. */
export const TotpConfirmBody = Type.Object({ code: Type.String({ pattern: '^[0-9]{6}$' }) });
/** Body of a TOTP confirmation. */
export type TotpConfirmBody = Static<typeof TotpConfirmBody>;

/** An organisation. */
export const Org = Type.Object({
  id: Id('Org ID'),
  name: Type.String(),
  description: Type.Optional(Type.String()),
  created_at: Time('RFC 3339 UTC'),
});
/** An organisation. */
export type Org = Static<typeof Org>;

/** Body of `POST /api/v1/orgs`. */
export const CreateOrgBody = Type.Object({
  id: Type.Optional(Id('Org ID; generated (org-…) when absent')),
  name: Type.String({ minLength: 1, maxLength: 256 }),
  description: Type.Optional(Type.String({ maxLength: 1024 })),
});
/** Body of an org creation. */
export type CreateOrgBody = Static<typeof CreateOrgBody>;

/** A project (belongs to one org). */
export const Project = Type.Object({
  id: Id('Project ID'),
  name: Type.String(),
  org_id: Type.String(),
  description: Type.Optional(Type.String()),
  created_at: Time('RFC 3339 UTC'),
});
/** A project. */
export type Project = Static<typeof Project>;

/** Body of `POST /api/v1/projects` (guide: `{"name","org_id"}`). */
export const CreateProjectBody = Type.Object({
  id: Type.Optional(Id('Project ID; generated (proj-…) when absent')),
  name: Type.String({ minLength: 1, maxLength: 256 }),
  org_id: Id('The owning org; created implicitly when it does not exist yet'),
  description: Type.Optional(Type.String({ maxLength: 1024 })),
});
/** Body of a project creation. */
export type CreateProjectBody = Static<typeof CreateProjectBody>;

/** One member of a project: a principal with a role there (a Binding). */
export const Member = Type.Object({
  principal_id: Type.String(),
  role: Type.String(),
  binding_id: Type.String(),
  created_at: Time('RFC 3339 UTC'),
});
/** A project member. */
export type Member = Static<typeof Member>;

/** Body of `POST /api/v1/projects/{id}/members`. */
export const AddMemberBody = Type.Object({
  principal_id: Id('User or service account'),
  role: Type.String({ pattern: ROLE_NAME_PATTERN, description: 'admin, editor, viewer or a custom role' }),
});
/** Body of a membership. */
export type AddMemberBody = Static<typeof AddMemberBody>;

/** Body of `POST /api/v1/auth/token` (guide §3). */
export const IssueTokenBody = Type.Object({
  principal_id: Id('Who the token is for (must exist)'),
  principal_type: Type.Optional(PrincipalType),
  scope_id: Type.Optional(
    Id('A project ID (→ project_id and its org_id) or an org ID (→ org_id); absent = unscoped'),
  ),
  ttl_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, description: 'Default 3600' })),
  roles: Type.Optional(
    Type.Array(Type.String({ pattern: ROLE_NAME_PATTERN }), {
      maxItems: 32,
      description: 'Roles the token carries in its scope; default: the principal’s bound roles there',
    }),
  ),
});
/** Body of a token issue. */
export type IssueTokenBody = Static<typeof IssueTokenBody>;

/** Result of a token issue. */
export const IssuedToken = Type.Object({
  token: Type.String({ description: 'EdDSA-signed JWT' }),
  token_type: Type.Literal('Bearer'),
  expires_at: Time('RFC 3339 UTC'),
  principal_id: Type.String(),
  scope_id: Type.Optional(Type.String()),
});
/** An issued token. */
export type IssuedToken = Static<typeof IssuedToken>;

/** Body of `POST /api/v1/auth/verify`. */
export const VerifyBody = Type.Object({ token: Type.String({ minLength: 1, maxLength: 16_384 }) });
/** Body of a verification. */
export type VerifyBody = Static<typeof VerifyBody>;

/** Result of a verification: 200 either way; `valid: false` carries a `reason`. */
export const VerifyResult = Type.Object({
  valid: Type.Boolean(),
  principal_id: Type.Optional(Type.String()),
  scope_id: Type.Optional(Type.String()),
  org_id: Type.Optional(Type.String()),
  project_id: Type.Optional(Type.String()),
  roles: Type.Optional(Type.Array(Type.String())),
  expires_at: Type.Optional(Time('RFC 3339 UTC')),
  reason: Type.Optional(Type.String()),
});
/** Result of a verification. */
export type VerifyResult = Static<typeof VerifyResult>;

/** Body of `POST /api/v1/auth/login` (orchestrator-api.md). */
export const LoginBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 320, description: 'User ID or e-mail' }),
  password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH }),
  mfa_code: Type.Optional(Type.String({ pattern: '^[0-9]{6}$' })),
  scope_id: Type.Optional(Id('Scope the access token to this project or org')),
});
/** Body of a login. */
export type LoginBody = Static<typeof LoginBody>;

/** Tokens from login and refresh. */
export const TokenPair = Type.Object({
  token: Type.String({ description: 'Access token (JWT)' }),
  token_type: Type.Literal('Bearer'),
  expires_at: Time('Access token expiry'),
  refresh_token: Type.String({ description: 'Opaque; single use (each refresh returns a new one)' }),
  refresh_expires_at: Time('Refresh token expiry'),
  user: Type.Object({
    id: Type.String(),
    username: Type.String(),
    email: Type.Optional(Type.String()),
    roles: Type.Array(Type.String()),
  }),
});
/** Tokens from login and refresh. */
export type TokenPair = Static<typeof TokenPair>;

/** Body of `POST /api/v1/auth/refresh` (`token` is accepted as an alias, as in orchestrator-api.md). */
export const RefreshBody = Type.Object({
  refresh_token: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  token: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
});
/** Body of a refresh. */
export type RefreshBody = Static<typeof RefreshBody>;

/** Body of `POST /api/v1/auth/logout`. */
export const LogoutBody = Type.Object({
  refresh_token: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
});
/** Body of a logout. */
export type LogoutBody = Static<typeof LogoutBody>;

/** Body of `POST /api/v1/auth/revoke`: exactly one of the fields. */
export const RevokeBody = Type.Object({
  token: Type.Optional(
    Type.String({ minLength: 1, maxLength: 16_384, description: 'An access or refresh token' }),
  ),
  principal_id: Type.Optional(Id('Revoke every token of this principal issued until now')),
});
/** Body of a revocation. */
export type RevokeBody = Static<typeof RevokeBody>;

/** Result of a revocation. */
export const RevokeResult = Type.Object({
  revoked: Type.Boolean(),
  kind: Type.Union([Type.Literal('access_token'), Type.Literal('refresh_family'), Type.Literal('principal')]),
  id: Type.String({ description: 'jti, refresh family or principal ID' }),
});
/** Result of a revocation. */
export type RevokeResult = Static<typeof RevokeResult>;

/** Result of `POST /api/v1/auth/keys/rotate`. */
export const RotateResult = Type.Object({
  kid: Type.String({ description: 'The new signing key' }),
  previous_kid: Type.Optional(Type.String()),
  previous_retires_at: Type.Optional(Time('When the previous key leaves the JWKS')),
});
/** Result of a key rotation. */
export type RotateResult = Static<typeof RotateResult>;

/** Who the caller is (`GET /api/v1/auth/whoami`). */
export const WhoAmI = Type.Object({
  principal_id: Type.String(),
  kind: Type.String(),
  org_id: Type.Optional(Type.String()),
  project_id: Type.Optional(Type.String()),
  roles: Type.Array(Type.String()),
  admin: Type.Boolean(),
  expires_at: Type.Optional(Time('Token expiry')),
});
/** Who the caller is. */
export type WhoAmI = Static<typeof WhoAmI>;

/** One policy rule (`action`/`resource` are glob patterns: `*` any run, `?` one character). */
export const Rule = Type.Object({
  effect: Type.Union([Type.Literal('Allow'), Type.Literal('Deny')]),
  action: Type.Union([
    Type.String({ minLength: 1, maxLength: 256 }),
    Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { minItems: 1, maxItems: 64 }),
  ]),
  resource: Type.Union([
    Type.String({ minLength: 1, maxLength: 512 }),
    Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { minItems: 1, maxItems: 64 }),
  ]),
  condition: Type.Optional(Type.String({ maxLength: 2048 })),
});
/** One policy rule. */
export type Rule = Static<typeof Rule>;

/** A policy. */
export const Policy = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.Optional(Type.String()),
  rules: Type.Array(Rule),
  org_id: Type.Optional(Type.String()),
  project_id: Type.Optional(Type.String()),
  version: Type.Optional(Type.Integer({ description: 'Incremented on every update' })),
  created_at: Time('RFC 3339 UTC'),
  updated_at: Time('RFC 3339 UTC'),
});
/** A policy. */
export type Policy = Static<typeof Policy>;

/** Body of `POST /api/v1/policies` and `PUT /api/v1/policies/{id}`. */
export const PolicyBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 256 }),
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  version: Type.Optional(
    Type.Union([Type.String(), Type.Integer()], { description: 'Ignored (informational)' }),
  ),
  rules: Type.Array(Rule, { minItems: 1, maxItems: 256 }),
  org_id: Type.Optional(Id('Scope of the policy')),
  project_id: Type.Optional(Id('Scope of the policy')),
});
/** Body of a policy write. */
export type PolicyBody = Static<typeof PolicyBody>;

/** A role: a named set of policies. */
export const Role = Type.Object({
  name: Type.String(),
  description: Type.Optional(Type.String()),
  policy_ids: Type.Array(Type.String()),
  builtin: Type.Optional(Type.Boolean()),
});
/** A role. */
export type Role = Static<typeof Role>;

/** Body of `POST /api/v1/roles` (`PUT /api/v1/roles/{name}` takes it without `name`). */
export const RoleBody = Type.Object({
  name: Type.String({ pattern: ROLE_NAME_PATTERN }),
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  policy_ids: Type.Array(Id('policy ID'), { maxItems: 64 }),
});
/** Body of a role write. */
export type RoleBody = Static<typeof RoleBody>;

/** Body of `PUT /api/v1/roles/{name}`. */
export const RoleUpdateBody = Type.Object({
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  policy_ids: Type.Array(Id('policy ID'), { maxItems: 64 }),
});
/** Body of a role update. */
export type RoleUpdateBody = Static<typeof RoleUpdateBody>;

/** Where a binding applies; empty = platform-wide. */
export const BindingScope = Type.Object({
  org_id: Type.Optional(Id('org ID')),
  project_id: Type.Optional(Id('project ID')),
});
/** Where a binding applies. */
export type BindingScope = Static<typeof BindingScope>;

/** A binding: a role or a policy given to a principal in a scope. */
export const Binding = Type.Object({
  id: Type.String(),
  principal_id: Type.String(),
  role: Type.Optional(Type.String()),
  policy_id: Type.Optional(Type.String()),
  scope: BindingScope,
  created_at: Time('RFC 3339 UTC'),
});
/** A binding. */
export type Binding = Static<typeof Binding>;

/** Body of `POST /api/v1/bindings`: exactly one of `role` and `policy_id`. */
export const CreateBindingBody = Type.Object({
  principal_id: Id('User or service account'),
  role: Type.Optional(Type.String({ pattern: ROLE_NAME_PATTERN })),
  policy_id: Type.Optional(Id('policy ID')),
  scope: Type.Optional(BindingScope),
});
/** Body of a binding creation. */
export type CreateBindingBody = Static<typeof CreateBindingBody>;

/** One audit event (packages/http-kit audit.ts). */
export const AuditEventItem = Type.Object({
  id: Type.String(),
  time: Type.String(),
  service: Type.String(),
  principal: Type.Union([
    Type.Object({
      id: Type.String(),
      kind: Type.String(),
      org_id: Type.Optional(Type.String()),
      project_id: Type.Optional(Type.String()),
    }),
    Type.Null(),
  ]),
  method: Type.String(),
  route: Type.Union([Type.String(), Type.Null()]),
  path: Type.String(),
  resource_id: Type.Optional(Type.String()),
  status_code: Type.Integer(),
  outcome: Type.String(),
  request_id: Type.String(),
  action: Type.String({ description: '<service>:<METHOD> <route>' }),
});
/** One audit event. */
export type AuditEventItem = Static<typeof AuditEventItem>;

/** A JSON Web Key Set (served raw, not in the envelope, so any JOSE library can read it). */
export const Jwks = Type.Object({
  keys: Type.Array(Type.Object({}, { additionalProperties: true })),
});
/** A JSON Web Key Set. */
export type Jwks = Static<typeof Jwks>;

/** `{id}` path parameter. */
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
