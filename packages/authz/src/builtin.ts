/**
 * Built-in roles and their policies, defined in code (IAM serves them read-only). A built-in role's
 * power is limited to the scope of the binding that grants it; the policies themselves name `*` resources.
 */
import type { Policy, Role } from './types.js';

const EPOCH = '1970-01-01T00:00:00Z';

/** Actions on IAM's own access-control objects (the "management" the editor role may not do). */
export const IAM_MANAGEMENT_CONDITION =
  "!(startsWith(request.action, 'iam:policies:') || startsWith(request.action, 'iam:roles:') || " +
  "startsWith(request.action, 'iam:bindings:'))";

/** Policies behind the built-in roles, by ID. */
export const BUILTIN_POLICIES: Readonly<Record<string, Policy>> = Object.freeze({
  'builtin-admin': {
    id: 'builtin-admin',
    name: 'admin',
    description: 'Everything, within the scope of the binding',
    rules: [{ effect: 'Allow', action: '*', resource: '*' }],
    created_at: EPOCH,
    updated_at: EPOCH,
  },
  'builtin-editor': {
    id: 'builtin-editor',
    name: 'editor',
    description:
      'Everything within the scope of the binding except managing IAM policies, roles and bindings (which it may read)',
    rules: [
      { effect: 'Allow', action: '*', resource: '*', condition: IAM_MANAGEMENT_CONDITION },
      { effect: 'Allow', action: ['iam:*:list', 'iam:*:get'], resource: '*' },
    ],
    created_at: EPOCH,
    updated_at: EPOCH,
  },
  'builtin-viewer': {
    id: 'builtin-viewer',
    name: 'viewer',
    description: 'Read-only: list and get every resource within the scope of the binding',
    rules: [{ effect: 'Allow', action: ['*:*:list', '*:*:get'], resource: '*' }],
    created_at: EPOCH,
    updated_at: EPOCH,
  },
});

/** The built-in roles, by name. */
export const BUILTIN_ROLES: Readonly<Record<string, Role>> = Object.freeze({
  admin: {
    name: 'admin',
    description: 'Full access within the binding scope',
    policy_ids: ['builtin-admin'],
    builtin: true,
  },
  editor: {
    name: 'editor',
    description: 'Full access within the binding scope except IAM policy/role/binding management',
    policy_ids: ['builtin-editor'],
    builtin: true,
  },
  viewer: {
    name: 'viewer',
    description: 'Read-only access (list, get) within the binding scope',
    policy_ids: ['builtin-viewer'],
    builtin: true,
  },
});

/** True for the names of built-in roles. */
export function isBuiltinRole(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(BUILTIN_ROLES, name);
}

/** True for the IDs of built-in policies. */
export function isBuiltinPolicy(id: string): boolean {
  return Object.prototype.hasOwnProperty.call(BUILTIN_POLICIES, id);
}
