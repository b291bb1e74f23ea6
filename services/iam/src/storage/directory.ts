/**
 * The directory: users and service accounts, orgs, projects and project membership (bindings), all as
 * JSON documents in the Store. Uniqueness (IDs, e-mail addresses) is enforced with store transactions,
 * so two IAM processes cannot create the same user twice.
 */
import { randomBytes } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '@photoncloud/errors';
import { bytes, prefixEnd } from '@photoncloud/store';
import type { RequestOp } from '@photoncloud/store';
import type { Binding, BindingScope } from '@photoncloud/authz';
import type { CreateUserBody, Org, Project, User } from '@photoncloud/iam-api';
import type { JsonStore } from './json-store.js';
import { K } from './keys.js';

/** A user document as stored (the API's `User`). */
export type StoredUser = User;

/** A random, prefixed ID (`user-…`, `org-…`, `proj-…`, `bind-…`, `pol-…`). */
export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(8).toString('hex')}`;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** True when a binding's scope covers `scope` (no field = platform-wide). */
export function bindingCovers(b: BindingScope, scope: BindingScope): boolean {
  if (b.org_id !== undefined && b.org_id !== scope.org_id) return false;
  if (b.project_id !== undefined && b.project_id !== scope.project_id) return false;
  return true;
}

/** Users, orgs, projects and bindings. */
export class Directory {
  constructor(
    readonly json: JsonStore,
    private readonly now: () => number = Date.now,
  ) {}

  private time(): string {
    return rfc3339(this.now());
  }

  // ---- users ----

  /** Create a user; 409 when the ID or e-mail is taken. */
  async createUser(
    body: CreateUserBody,
    extra: Partial<StoredUser> = {},
    also: RequestOp[] = [],
  ): Promise<StoredUser> {
    const now = this.time();
    const user: StoredUser = {
      id: body.id ?? newId('user'),
      name: body.name,
      type: body.type ?? 'user',
      status: 'active',
      org_ids: [...new Set(body.org_ids ?? [])],
      has_password: false,
      mfa_enabled: false,
      created_at: now,
      updated_at: now,
      ...(body.email === undefined ? {} : { email: body.email }),
      ...extra,
    };
    const ops: RequestOp[] = [...also];
    const compares = [];
    if (user.email !== undefined) {
      const ek = bytes(K.emailIndex(user.email));
      compares.push({ key: ek, target: 'create' as const, createRevision: 0, result: 'equal' as const });
      ops.push({ put: { key: ek, value: bytes(JSON.stringify({ user_id: user.id })) } });
    }
    const uk = bytes(K.user(user.id));
    const res = await this.json.store.txn({
      compare: [{ key: uk, target: 'create', createRevision: 0, result: 'equal' }, ...compares],
      success: [{ put: { key: uk, value: bytes(JSON.stringify(user)) } }, ...ops],
      failure: [{ range: { key: uk } }],
    });
    if (!res.succeeded) {
      const r = res.responses[0];
      const userExists = r !== undefined && 'range' in r && r.range.kvs.length > 0;
      throw new ConflictError(
        userExists ? `User ${user.id} already exists` : `E-mail ${user.email} is already in use`,
        {
          details: userExists ? { resource: 'user', id: user.id } : { field: 'email' },
        },
      );
    }
    return user;
  }

  /** The user, or 404. */
  async getUser(id: string): Promise<StoredUser> {
    const doc = await this.json.get<StoredUser>(K.user(id));
    if (doc === undefined) throw new NotFoundError('user', id);
    return doc.value;
  }

  /** The user, or `undefined`. */
  async findUser(id: string): Promise<StoredUser | undefined> {
    return (await this.json.get<StoredUser>(K.user(id)))?.value;
  }

  /** The user with this ID or e-mail address. */
  async findByLogin(username: string): Promise<StoredUser | undefined> {
    const byId = await this.findUser(username);
    if (byId !== undefined) return byId;
    if (!username.includes('@')) return undefined;
    const idx = await this.json.get<{ user_id: string }>(K.emailIndex(username));
    return idx === undefined ? undefined : this.findUser(idx.value.user_id);
  }

  /** Every user, in ID order. */
  async listUsers(): Promise<StoredUser[]> {
    return (await this.json.list<StoredUser>(K.users)).map((d) => d.value);
  }

  /** True when at least one user exists. */
  async hasUsers(): Promise<boolean> {
    const p = bytes(K.users);
    const res = await this.json.store.range({ key: p, rangeEnd: prefixEnd(p), countOnly: true });
    return res.count > 0;
  }

  /** Apply `change` to the user atomically (e-mail index kept in step); 404 when absent. */
  async updateUser(id: string, change: (u: StoredUser) => StoredUser): Promise<StoredUser> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const cur = await this.json.get<StoredUser>(K.user(id));
      if (cur === undefined) throw new NotFoundError('user', id);
      const next = { ...change(cur.value), id, updated_at: this.time() };
      const uk = bytes(K.user(id));
      const compare: Parameters<typeof this.json.store.txn>[0]['compare'] = [
        { key: uk, target: 'mod', modRevision: cur.modRevision, result: 'equal' },
      ];
      const ops: RequestOp[] = [{ put: { key: uk, value: bytes(JSON.stringify(next)) } }];
      if (next.email !== cur.value.email) {
        if (next.email !== undefined) {
          const ek = bytes(K.emailIndex(next.email));
          const owner = await this.json.get<{ user_id: string }>(K.emailIndex(next.email));
          if (owner !== undefined && owner.value.user_id !== id) {
            throw new ConflictError(`E-mail ${next.email} is already in use`, {
              details: { field: 'email' },
            });
          }
          compare.push({ key: ek, target: 'create', createRevision: 0, result: 'equal' });
          ops.push({ put: { key: ek, value: bytes(JSON.stringify({ user_id: id })) } });
        }
        if (cur.value.email !== undefined)
          ops.push({ deleteRange: { key: bytes(K.emailIndex(cur.value.email)) } });
      }
      const res = await this.json.store.txn({ compare, success: ops, failure: [] });
      if (res.succeeded) return next;
    }
    throw new ConflictError(`User ${id} is being changed concurrently; retry`);
  }

  /** Delete a user with its credentials, lockout state, e-mail index entry and bindings; 404 when absent. */
  async deleteUser(id: string): Promise<StoredUser> {
    const user = await this.getUser(id);
    const extra = [K.bindingsOf(id)];
    const ops: RequestOp[] = [
      { deleteRange: { key: bytes(K.user(id)) } },
      { deleteRange: { key: bytes(K.credential(id)) } },
      { deleteRange: { key: bytes(K.lockout(id)) } },
      ...extra.map((p) => ({ deleteRange: { key: bytes(p), rangeEnd: prefixEnd(bytes(p)) } })),
    ];
    if (user.email !== undefined) ops.push({ deleteRange: { key: bytes(K.emailIndex(user.email)) } });
    await this.json.store.txn({ compare: [], success: ops, failure: [] });
    return user;
  }

  // ---- orgs ----

  /** Create an org; 409 when it exists. */
  async createOrg(body: { id?: string; name: string; description?: string }): Promise<Org> {
    const org: Org = {
      id: body.id ?? newId('org'),
      name: body.name,
      created_at: this.time(),
      ...(body.description === undefined ? {} : { description: body.description }),
    };
    await this.json.create(K.org(org.id), org, `Org ${org.id}`);
    return org;
  }

  /** The org, creating it (named after its ID) when it does not exist yet. */
  async ensureOrg(id: string): Promise<Org> {
    const cur = await this.json.get<Org>(K.org(id));
    if (cur !== undefined) return cur.value;
    try {
      return await this.createOrg({ id, name: id });
    } catch (err) {
      if (err instanceof ConflictError) return await this.getOrg(id);
      throw err;
    }
  }

  /** The org, or 404. */
  async getOrg(id: string): Promise<Org> {
    const doc = await this.json.get<Org>(K.org(id));
    if (doc === undefined) throw new NotFoundError('org', id);
    return doc.value;
  }

  /** Every org. */
  async listOrgs(): Promise<Org[]> {
    return (await this.json.list<Org>(K.orgs)).map((d) => d.value);
  }

  /** Delete an org; 409 while it still has projects. */
  async deleteOrg(id: string): Promise<void> {
    await this.getOrg(id);
    const projects = (await this.listProjects()).filter((p) => p.org_id === id);
    if (projects.length > 0) {
      throw new ConflictError(`Org ${id} still has ${projects.length} project(s)`, {
        details: { projects: projects.map((p) => p.id).slice(0, 20) },
        hint: 'Delete its projects first',
      });
    }
    await this.deleteBindingsWhere((b) => b.scope.org_id === id);
    await this.json.delete(K.org(id));
  }

  // ---- projects ----

  /** Create a project in an org (the org is created when it does not exist yet); 409 when it exists. */
  async createProject(body: {
    id?: string;
    name: string;
    org_id: string;
    description?: string;
  }): Promise<Project> {
    await this.ensureOrg(body.org_id);
    const project: Project = {
      id: body.id ?? newId('proj'),
      name: body.name,
      org_id: body.org_id,
      created_at: this.time(),
      ...(body.description === undefined ? {} : { description: body.description }),
    };
    await this.json.create(K.project(project.id), project, `Project ${project.id}`);
    return project;
  }

  /** The project, or 404. */
  async getProject(id: string): Promise<Project> {
    const doc = await this.json.get<Project>(K.project(id));
    if (doc === undefined) throw new NotFoundError('project', id);
    return doc.value;
  }

  /** The project, or `undefined`. */
  async findProject(id: string): Promise<Project | undefined> {
    return (await this.json.get<Project>(K.project(id)))?.value;
  }

  /** Every project. */
  async listProjects(): Promise<Project[]> {
    return (await this.json.list<Project>(K.projects)).map((d) => d.value);
  }

  /** Delete a project and every binding scoped to it; 404 when absent. */
  async deleteProject(id: string): Promise<void> {
    await this.getProject(id);
    await this.deleteBindingsWhere((b) => b.scope.project_id === id);
    await this.json.delete(K.project(id));
  }

  // ---- bindings ----

  /** Store a binding. */
  async createBinding(input: {
    principal_id: string;
    role?: string;
    policy_id?: string;
    scope: BindingScope;
  }): Promise<Binding> {
    if ((input.role === undefined) === (input.policy_id === undefined)) {
      throw new ValidationError('role', 'oneOf', 'Give exactly one of role and policy_id');
    }
    const scope: BindingScope = {};
    if (input.scope.org_id !== undefined) scope.org_id = input.scope.org_id;
    if (input.scope.project_id !== undefined) scope.project_id = input.scope.project_id;
    const binding: Binding = {
      id: newId('bind'),
      principal_id: input.principal_id,
      scope,
      created_at: this.time(),
      ...(input.role === undefined ? {} : { role: input.role }),
      ...(input.policy_id === undefined ? {} : { policy_id: input.policy_id }),
    };
    await this.json.create(K.binding(binding.principal_id, binding.id), binding, `Binding ${binding.id}`);
    return binding;
  }

  /** Bindings of one principal. */
  async bindingsOf(principalId: string): Promise<Binding[]> {
    return (await this.json.list<Binding>(K.bindingsOf(principalId))).map((d) => d.value);
  }

  /** Every binding. */
  async listBindings(): Promise<Binding[]> {
    return (await this.json.list<Binding>(K.bindings)).map((d) => d.value);
  }

  /** A binding by ID, or 404. */
  async getBinding(id: string): Promise<Binding> {
    const b = (await this.listBindings()).find((x) => x.id === id);
    if (b === undefined) throw new NotFoundError('binding', id);
    return b;
  }

  /** Delete one binding. */
  async deleteBinding(b: Binding): Promise<void> {
    await this.json.delete(K.binding(b.principal_id, b.id));
  }

  /** Delete every binding matching `pred`; returns how many. */
  async deleteBindingsWhere(pred: (b: Binding) => boolean): Promise<number> {
    const doomed = (await this.listBindings()).filter(pred);
    for (const b of doomed) await this.deleteBinding(b);
    return doomed.length;
  }
}
