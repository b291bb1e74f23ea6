/**
 * Where IAM keeps its state in the Store. Policies, roles, bindings and revocations use the layout
 * agreed with @photoncloud/authz (every service's Authorizer watches them); the rest is IAM's own.
 */

/** Root of all IAM keys. */
export const IAM_PREFIX = '/photoncloud/iam/';

/** Key builders, one per kind of document. */
export const K = {
  user: (id: string) => `${IAM_PREFIX}users/${id}`,
  users: `${IAM_PREFIX}users/`,
  credential: (id: string) => `${IAM_PREFIX}credentials/${id}`,
  lockout: (id: string) => `${IAM_PREFIX}lockout/${id}`,
  emailIndex: (email: string) => `${IAM_PREFIX}emails/${email.toLowerCase()}`,
  org: (id: string) => `${IAM_PREFIX}orgs/${id}`,
  orgs: `${IAM_PREFIX}orgs/`,
  project: (id: string) => `${IAM_PREFIX}projects/${id}`,
  projects: `${IAM_PREFIX}projects/`,
  policy: (id: string) => `${IAM_PREFIX}policies/${id}`,
  policies: `${IAM_PREFIX}policies/`,
  role: (name: string) => `${IAM_PREFIX}roles/${name}`,
  roles: `${IAM_PREFIX}roles/`,
  binding: (principalId: string, id: string) => `${IAM_PREFIX}bindings/${principalId}/${id}`,
  bindingsOf: (principalId: string) => `${IAM_PREFIX}bindings/${principalId}/`,
  bindings: `${IAM_PREFIX}bindings/`,
  revoked: (jti: string) => `${IAM_PREFIX}revoked/${jti}`,
  revokedPrincipal: (id: string) => `${IAM_PREFIX}revoked-principals/${id}`,
  signingKey: (kid: string) => `${IAM_PREFIX}signing-keys/${kid}`,
  signingKeys: `${IAM_PREFIX}signing-keys/`,
  activeKey: `${IAM_PREFIX}signing-active`,
  refresh: (hash: string) => `${IAM_PREFIX}refresh-tokens/${hash}`,
  refreshFamily: (family: string) => `${IAM_PREFIX}refresh-families/${family}`,
  bootstrap: `${IAM_PREFIX}bootstrap`,
} as const;
