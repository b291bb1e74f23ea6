/**
 * Policies and roles in the Store (layout of @photoncloud/authz), with the built-in roles served
 * read-only from code. Also answers "which policies does this principal hold in this scope", which the
 * escalation check needs (nobody grants what they do not hold).
 */
import { ConflictError, NotFoundError, ValidationError } from '@photoncloud/errors';
import { BUILTIN_POLICIES, BUILTIN_ROLES, isBuiltinPolicy, isBuiltinRole } from '@photoncloud/authz';
import type { BindingScope, Policy, Role, Rule } from '@photoncloud/authz';
import type { Principal } from '@photoncloud/http-kit';
import type { Directory } from './directory.js';
import { bindingCovers, newId } from './directory.js';
import { K } from './keys.js';

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Input of a policy write. */
export interface PolicyInput {
  name: string;
  description?: string;
  rules: Rule[];
  org_id?: string;
  project_id?: string;
}

/** Policies and roles. */
export class AccessControl {
  constructor(
    private readonly dir: Directory,
    private readonly now: () => number = Date.now,
  ) {}

  private get json() {
    return this.dir.json;
  }

  // ---- policies ----

  /** Every stored policy plus the built-in ones. */
  async listPolicies(): Promise<Policy[]> {
    const stored = (await this.json.list<Policy>(K.policies)).map((d) => d.value);
    return [...Object.values(BUILTIN_POLICIES), ...stored];
  }

  /** A policy (built-in or stored), or 404. */
  async getPolicy(id: string): Promise<Policy> {
    const builtin = BUILTIN_POLICIES[id];
    if (builtin !== undefined) return builtin;
    const doc = await this.json.get<Policy>(K.policy(id));
    if (doc === undefined) throw new NotFoundError('policy', id);
    return doc.value;
  }

  /** Store a new policy. */
  async createPolicy(input: PolicyInput): Promise<Policy> {
    const now = rfc3339(this.now());
    const policy: Policy = {
      id: newId('pol'),
      ...stripUndefined(input),
      created_at: now,
      updated_at: now,
      version: 1,
    };
    await this.json.create(K.policy(policy.id), policy, `Policy ${policy.id}`);
    return policy;
  }

  /** Replace a stored policy's content; built-ins cannot change (409). */
  async updatePolicy(id: string, input: PolicyInput): Promise<Policy> {
    if (isBuiltinPolicy(id)) throw new ConflictError(`Policy ${id} is built in and cannot be changed`);
    const out = await this.json.update<Policy>(K.policy(id), (cur) => {
      if (cur === undefined) throw new NotFoundError('policy', id);
      return {
        id,
        ...stripUndefined(input),
        created_at: cur.value.created_at,
        updated_at: rfc3339(this.now()),
        version: (cur.value.version ?? 1) + 1,
      };
    });
    return out!;
  }

  /** Delete a stored policy; 409 while a role or binding uses it. */
  async deletePolicy(id: string): Promise<void> {
    if (isBuiltinPolicy(id)) throw new ConflictError(`Policy ${id} is built in and cannot be deleted`);
    await this.getPolicy(id);
    const roles = (await this.listRoles()).filter((r) => r.policy_ids.includes(id)).map((r) => r.name);
    const bindings = (await this.dir.listBindings()).filter((b) => b.policy_id === id).map((b) => b.id);
    if (roles.length > 0 || bindings.length > 0) {
      throw new ConflictError(`Policy ${id} is in use`, {
        details: { roles, bindings: bindings.slice(0, 20) },
        hint: 'Remove it from these roles and bindings first',
      });
    }
    await this.json.delete(K.policy(id));
  }

  // ---- roles ----

  /** Built-in and stored roles. */
  async listRoles(): Promise<Role[]> {
    const stored = (await this.json.list<Role>(K.roles)).map((d) => d.value);
    return [...Object.values(BUILTIN_ROLES), ...stored];
  }

  /** A role, or 404. */
  async getRole(name: string): Promise<Role> {
    const builtin = BUILTIN_ROLES[name];
    if (builtin !== undefined) return builtin;
    const doc = await this.json.get<Role>(K.role(name));
    if (doc === undefined) throw new NotFoundError('role', name);
    return doc.value;
  }

  private async checkPolicyIds(ids: string[]): Promise<void> {
    for (const id of ids) {
      try {
        await this.getPolicy(id);
      } catch (err) {
        if (err instanceof NotFoundError) {
          throw new ValidationError('policy_ids', 'exists', `Policy ${id} does not exist`, {
            details: { policy_id: id },
          });
        }
        throw err;
      }
    }
  }

  /** Create a custom role; 409 for built-in names or existing roles. */
  async createRole(role: { name: string; description?: string; policy_ids: string[] }): Promise<Role> {
    if (isBuiltinRole(role.name)) throw new ConflictError(`Role ${role.name} is built in`);
    await this.checkPolicyIds(role.policy_ids);
    const doc: Role = {
      name: role.name,
      policy_ids: [...new Set(role.policy_ids)],
      ...(role.description === undefined ? {} : { description: role.description }),
    };
    await this.json.create(K.role(role.name), doc, `Role ${role.name}`);
    return doc;
  }

  /** Replace a custom role's policies/description. */
  async updateRole(name: string, change: { description?: string; policy_ids: string[] }): Promise<Role> {
    if (isBuiltinRole(name)) throw new ConflictError(`Role ${name} is built in and cannot be changed`);
    await this.checkPolicyIds(change.policy_ids);
    const out = await this.json.update<Role>(K.role(name), (cur) => {
      if (cur === undefined) throw new NotFoundError('role', name);
      return {
        name,
        policy_ids: [...new Set(change.policy_ids)],
        ...(change.description === undefined ? {} : { description: change.description }),
      };
    });
    return out!;
  }

  /** Delete a custom role; 409 while bindings use it. */
  async deleteRole(name: string): Promise<void> {
    if (isBuiltinRole(name)) throw new ConflictError(`Role ${name} is built in and cannot be deleted`);
    await this.getRole(name);
    const bindings = (await this.dir.listBindings()).filter((b) => b.role === name).map((b) => b.id);
    if (bindings.length > 0) {
      throw new ConflictError(`Role ${name} is bound to principals`, {
        details: { bindings: bindings.slice(0, 20) },
      });
    }
    await this.json.delete(K.role(name));
  }

  /** The policies a role grants (missing policies are skipped: they grant nothing). */
  async policiesOfRole(name: string): Promise<Policy[]> {
    let role: Role;
    try {
      role = await this.getRole(name);
    } catch (err) {
      if (err instanceof NotFoundError) return [];
      throw err;
    }
    const out: Policy[] = [];
    for (const id of role.policy_ids) {
      try {
        out.push(await this.getPolicy(id));
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
    return out;
  }

  /**
   * The policies `principal` holds in `scope`: from its bindings covering the scope, or — for a token
   * principal without bindings — from the roles its token carries, within the token's own scope.
   */
  async heldPolicies(principal: Principal, scope: BindingScope): Promise<Policy[]> {
    const bindings = (await this.dir.bindingsOf(principal.id)).filter((b) => bindingCovers(b.scope, scope));
    const out: Policy[] = [];
    const roles = new Set<string>();
    for (const b of bindings) {
      if (b.role !== undefined) roles.add(b.role);
      if (b.policy_id !== undefined) {
        try {
          out.push(await this.getPolicy(b.policy_id));
        } catch (err) {
          if (!(err instanceof NotFoundError)) throw err;
        }
      }
    }
    if (bindings.length === 0 && principal.kind === 'token') {
      const tokenScope: BindingScope = {};
      if (principal.orgId !== undefined) tokenScope.org_id = principal.orgId;
      if (principal.projectId !== undefined) tokenScope.project_id = principal.projectId;
      if (bindingCovers(tokenScope, scope)) for (const r of principal.roles) roles.add(r);
    }
    for (const r of roles) out.push(...(await this.policiesOfRole(r)));
    return out;
  }
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
