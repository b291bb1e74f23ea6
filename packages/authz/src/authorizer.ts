/**
 * `Authorizer`: the enforcing side of IAM in every service. It reads policies, roles, bindings and
 * revocations from the store (prefix ranges at one revision), keeps them current with a watch from the
 * next revision, and re-lists when the watch is cancelled (compaction) or cannot be re-established. The
 * store stays the source of truth; what is held here is a read-through replica of five key prefixes.
 */
import { ForbiddenError } from '@photoncloud/errors';
import type { Principal } from '@photoncloud/http-kit';
import type { Logger } from '@photoncloud/log';
import { bytes, prefixEnd, text } from '@photoncloud/store';
import type { KeyValue, Store, WatchResponse, Watcher } from '@photoncloud/store';
import { BUILTIN_POLICIES, BUILTIN_ROLES } from './builtin.js';
import { PolicySet } from './core/evaluate.js';
import { parseResource } from './core/resource.js';
import type { Binding, ConditionRequest, Decision, Policy, ResourceName, Role } from './types.js';
import { IAM_KEYS } from './types.js';

/** Options of `Authorizer.open`. */
export interface AuthorizerOptions {
  store: Store;
  logger?: Logger;
  /** Clock (epoch ms), for `request.time` in conditions; default `Date.now`. */
  now?: () => number;
  /** First delay before re-listing after a failed watch or load (doubles up to 5 s); default 100 ms. */
  retryDelayMs?: number;
  /** Page size of the initial ranges; default 1000. */
  pageSize?: number;
}

/** Extra request attributes for conditions. */
export interface AuthorizeContext {
  request?: ConditionRequest;
}

interface State {
  policies: Map<string, Policy>;
  roles: Map<string, Role>;
  /** By key. */
  bindings: Map<string, Binding>;
  /** principal_id → binding keys. */
  bindingsOf: Map<string, Set<string>>;
  revoked: Map<string, number>;
  revokedPrincipals: Map<string, number>;
}

function emptyState(): State {
  return {
    policies: new Map(),
    roles: new Map(),
    bindings: new Map(),
    bindingsOf: new Map(),
    revoked: new Map(),
    revokedPrincipals: new Map(),
  };
}

const PREFIXES = [
  IAM_KEYS.policies,
  IAM_KEYS.roles,
  IAM_KEYS.bindings,
  IAM_KEYS.revoked,
  IAM_KEYS.revokedPrincipals,
];
const CACHE_MAX = 10_000;

function scopeContains(scope: Binding['scope'] | undefined, r: ResourceName | undefined): boolean {
  const org = scope?.org_id;
  const project = scope?.project_id;
  if (org === undefined && project === undefined) return true;
  if (r === undefined) return false;
  if (org !== undefined && r.org_id !== org) return false;
  if (project !== undefined && r.project_id !== project) return false;
  return true;
}

/** Reads and enforces IAM state; create with `Authorizer.open`. */
export class Authorizer {
  private state: State = emptyState();
  private watcher: Watcher | undefined;
  private closed = false;
  /** Bumped on every change and on every re-list; stale watch callbacks compare it. */
  private epoch = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryDelay: number;
  private readonly cache = new Map<string, { set: PolicySet; roles: string[] }>();
  private rev = 0;
  private readonly store: Store;
  private readonly logger: Logger | undefined;
  private readonly now: () => number;

  private constructor(private readonly opts: AuthorizerOptions) {
    this.store = opts.store;
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
    this.retryDelay = opts.retryDelayMs ?? 100;
  }

  /** Load the state and start watching; rejects when the store cannot be read. */
  static async open(opts: AuthorizerOptions): Promise<Authorizer> {
    const a = new Authorizer(opts);
    await a.sync();
    return a;
  }

  /** Store revision the replica reflects (at least). */
  get revision(): number {
    return this.rev;
  }

  /**
   * True when the token `jti` is revoked, or every token of `sub` issued before some time was revoked and
   * this one (`iat`, epoch seconds) is older; a token without `iat` counts as older.
   */
  isRevoked(jti: string | undefined, sub: string, iat: number | undefined): boolean {
    if (jti !== undefined && this.state.revoked.has(jti)) return true;
    const nb = this.state.revokedPrincipals.get(sub);
    if (nb === undefined) return false;
    return iat === undefined || iat < nb;
  }

  /** `isRevoked` for a verified principal (its `tokenId`, `id` and `iat` claim). */
  isPrincipalRevoked(p: Principal): boolean {
    if (p.kind !== 'token') return false;
    const iat = p.claims?.['iat'];
    return this.isRevoked(p.tokenId, p.id, typeof iat === 'number' ? iat : undefined);
  }

  /**
   * The policies that apply to `principal` for `resource`: those of its bindings whose scope contains the
   * resource (built-in roles included). A token principal without any binding gets its token's roles
   * within the token's own org/project scope. Also returns the role names in effect.
   */
  policiesFor(principal: Principal, resource: string): { policies: Policy[]; roles: string[] } {
    const r = parseResource(resource);
    const st = this.state;
    const keys = st.bindingsOf.get(principal.id);
    let bindings: Array<Pick<Binding, 'role' | 'policy_id' | 'scope'>> = [];
    if (keys !== undefined && keys.size > 0) {
      for (const k of keys) {
        const b = st.bindings.get(k);
        if (b !== undefined) bindings.push(b);
      }
    } else if (principal.kind === 'token') {
      const scope: Binding['scope'] = {};
      if (principal.orgId !== undefined) scope.org_id = principal.orgId;
      if (principal.projectId !== undefined) scope.project_id = principal.projectId;
      bindings = principal.roles.map((role) => ({ role, scope }));
    }
    const policies: Policy[] = [];
    const seen = new Set<string>();
    const roles = new Set(principal.roles);
    const addPolicy = (id: string): void => {
      if (seen.has(id)) return;
      const p = BUILTIN_POLICIES[id] ?? st.policies.get(id);
      if (p === undefined) return;
      seen.add(id);
      policies.push(p);
    };
    for (const b of bindings) {
      if (!scopeContains(b.scope, r)) continue;
      if (typeof b.role === 'string') {
        const role = BUILTIN_ROLES[b.role] ?? st.roles.get(b.role);
        if (role === undefined) continue;
        roles.add(role.name);
        for (const id of Array.isArray(role.policy_ids) ? role.policy_ids : []) addPolicy(id);
      }
      if (typeof b.policy_id === 'string') addPolicy(b.policy_id);
    }
    return { policies, roles: [...roles] };
  }

  /** Decide without throwing (admins are allowed). */
  decide(principal: Principal, action: string, resource: string, ctx: AuthorizeContext = {}): Decision {
    if (principal.isAdmin) return { decision: 'allow', reason: 'allow' };
    const r = parseResource(resource);
    const key = `${principal.kind}\u0000${principal.id}\u0000${principal.orgId ?? ''}\u0000${principal.projectId ?? ''}\u0000${principal.roles.join(',')}\u0000${r?.org_id ?? '\u0001'}\u0000${r?.project_id ?? ''}`;
    let hit = this.cache.get(key);
    if (hit === undefined) {
      const { policies, roles } = this.policiesFor(principal, resource);
      hit = { set: new PolicySet(policies), roles };
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      this.cache.set(key, hit);
    }
    const user: NonNullable<Parameters<PolicySet['evaluate']>[0]['context']>['user'] = {
      id: principal.id,
      roles: hit.roles,
    };
    if (principal.orgId !== undefined) user.org_id = principal.orgId;
    if (principal.projectId !== undefined) user.project_id = principal.projectId;
    const request: ConditionRequest = { time: new Date(this.now()).toISOString(), ...ctx.request };
    return hit.set.evaluate({ action, resource, context: { user, request } });
  }

  /** Throw `ForbiddenError` (403 FORBIDDEN) unless `principal` may perform `action` on `resource`. */
  authorize(principal: Principal, action: string, resource: string, ctx: AuthorizeContext = {}): void {
    const d = this.decide(principal, action, resource, ctx);
    if (d.decision === 'allow') return;
    throw new ForbiddenError(`Permission denied: ${action} on ${resource}`, {
      details: { action, resource, reason: d.reason },
      hint:
        d.reason === 'explicit-deny'
          ? 'A policy bound to you denies this explicitly'
          : 'Ask an administrator for a role binding that allows this action in this scope',
    });
  }

  /** Stop watching. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    const w = this.watcher;
    this.watcher = undefined;
    await w?.cancel().catch(() => undefined);
  }

  private async sync(): Promise<void> {
    const epoch = ++this.epoch;
    const st = emptyState();
    let rev = 0;
    for (const prefix of PREFIXES) {
      let key = bytes(prefix);
      const end = prefixEnd(bytes(prefix));
      for (;;) {
        const res = await this.store.range({
          key,
          rangeEnd: end,
          limit: this.opts.pageSize ?? 1000,
          revision: rev,
        });
        if (rev === 0) rev = res.header.revision;
        for (const kv of res.kvs) this.apply(st, kv, 'PUT');
        const last = res.kvs.at(-1);
        if (!res.more || last === undefined) break;
        key = new Uint8Array([...last.key, 0]);
      }
    }
    if (this.closed || epoch !== this.epoch) return;
    // Installed before the watch starts, so events it delivers (from rev + 1) land on this state.
    this.state = st;
    this.cache.clear();
    this.rev = Math.max(this.rev, rev);
    const root = bytes(IAM_KEYS.root);
    const watcher = await this.store.watch(
      { key: root, rangeEnd: prefixEnd(root), startRevision: rev + 1 },
      (res) => this.onWatch(epoch, res),
    );
    if (this.closed || epoch !== this.epoch) {
      await watcher.cancel().catch(() => undefined);
      return;
    }
    this.watcher = watcher;
    this.retryDelay = this.opts.retryDelayMs ?? 100;
  }

  private onWatch(epoch: number, res: WatchResponse): void {
    if (this.closed || epoch !== this.epoch) return;
    if (res.canceled === true) {
      this.logger?.warn(
        { reason: res.cancelReason, compactRevision: res.compactRevision },
        'authz: watch cancelled; re-listing IAM state',
      );
      this.resync();
      return;
    }
    for (const ev of res.events) this.apply(this.state, ev.kv, ev.type);
    if (res.events.length > 0) this.cache.clear();
    this.rev = Math.max(this.rev, res.events.at(-1)?.kv.modRevision ?? 0, res.header.revision);
  }

  private resync(): void {
    if (this.closed) return;
    const old = this.watcher;
    this.watcher = undefined;
    this.epoch++;
    void old?.cancel().catch(() => undefined);
    if (this.retryTimer !== undefined) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, 5000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.sync().catch((err: unknown) => {
        this.logger?.warn({ err }, 'authz: re-listing IAM state failed; retrying');
        this.resync();
      });
    }, delay);
  }

  private apply(st: State, kv: KeyValue, type: 'PUT' | 'DELETE'): void {
    const key = text(kv.key);
    const prefix = PREFIXES.find((p) => key.startsWith(p));
    if (prefix === undefined) return;
    const name = key.slice(prefix.length);
    if (name === '') return;
    let value: unknown;
    if (type === 'PUT') {
      try {
        value = JSON.parse(text(kv.value));
      } catch {
        this.logger?.warn({ key }, 'authz: ignoring a value that is not JSON');
        value = undefined;
      }
      if (value === null || typeof value !== 'object') value = undefined;
    }
    const v = value as Record<string, unknown> | undefined;
    switch (prefix) {
      case IAM_KEYS.policies:
        if (v !== undefined && Array.isArray(v['rules']))
          st.policies.set(name, { ...(v as unknown as Policy), id: name });
        else st.policies.delete(name);
        break;
      case IAM_KEYS.roles:
        if (v !== undefined && Array.isArray(v['policy_ids']))
          st.roles.set(name, { ...(v as unknown as Role), name });
        else st.roles.delete(name);
        break;
      case IAM_KEYS.bindings: {
        const slash = name.lastIndexOf('/');
        const principal = slash < 0 ? name : name.slice(0, slash);
        const prev = st.bindings.get(key);
        if (prev !== undefined) st.bindingsOf.get(prev.principal_id)?.delete(key);
        if (v === undefined) {
          st.bindings.delete(key);
          break;
        }
        const b = { ...(v as unknown as Binding), principal_id: principal };
        if (b.scope === null || typeof b.scope !== 'object') b.scope = {};
        st.bindings.set(key, b);
        let set = st.bindingsOf.get(principal);
        if (set === undefined) st.bindingsOf.set(principal, (set = new Set()));
        set.add(key);
        break;
      }
      case IAM_KEYS.revoked:
        if (type === 'PUT') st.revoked.set(name, typeof v?.['exp'] === 'number' ? v['exp'] : 0);
        else st.revoked.delete(name);
        break;
      case IAM_KEYS.revokedPrincipals: {
        const nb = v?.['not_before'];
        if (type === 'PUT')
          st.revokedPrincipals.set(name, typeof nb === 'number' ? nb : Number.POSITIVE_INFINITY);
        else st.revokedPrincipals.delete(name);
        break;
      }
    }
  }
}
