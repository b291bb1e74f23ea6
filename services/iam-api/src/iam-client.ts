/** A typed client for IAM's REST API, on the shared client kit. */
import { ApiClient } from '@photoncloud/http-kit/client';
import type { ApiClientOptions } from '@photoncloud/http-kit/client';
import type {
  Binding,
  CreateBindingBody,
  CreateProjectBody,
  CreateUserBody,
  IssueTokenBody,
  IssuedToken,
  Jwks,
  LoginBody,
  Member,
  Policy,
  PolicyBody,
  Project,
  RevokeBody,
  RevokeResult,
  Role,
  RoleBody,
  RotateResult,
  TokenPair,
  TotpEnrollment,
  UpdateUserBody,
  User,
  VerifyResult,
  WhoAmI,
} from './schemas.js';

const seg = encodeURIComponent;

/** IAM REST client. */
export class IamClient {
  readonly api: ApiClient;

  constructor(opts: ApiClientOptions | ApiClient) {
    this.api = opts instanceof ApiClient ? opts : new ApiClient(opts);
  }

  /** A client for the same IAM that sends `token`. */
  withToken(token: string): IamClient {
    return new IamClient({ baseUrl: this.api.baseUrl, token });
  }

  // ---- auth ----

  /** Log in with a password (and TOTP code). */
  login(body: LoginBody): Promise<TokenPair> {
    return this.api.post<TokenPair>('/api/v1/auth/login', body);
  }
  /** Exchange a refresh token for a new pair. */
  refresh(refreshToken: string): Promise<TokenPair> {
    return this.api.post<TokenPair>('/api/v1/auth/refresh', { refresh_token: refreshToken });
  }
  /** Revoke this client's token (and the refresh token's session when given). */
  logout(refreshToken?: string): Promise<{ revoked_token: boolean; revoked_session: boolean }> {
    return this.api.post(
      '/api/v1/auth/logout',
      refreshToken === undefined ? {} : { refresh_token: refreshToken },
    );
  }
  /** Issue a token for a principal (administrators). */
  issueToken(body: IssueTokenBody): Promise<IssuedToken> {
    return this.api.post<IssuedToken>('/api/v1/auth/token', body);
  }
  /** Verify a token. */
  verify(token: string): Promise<VerifyResult> {
    return this.api.post<VerifyResult>('/api/v1/auth/verify', { token });
  }
  /** Revoke a token or every token of a principal. */
  revoke(body: RevokeBody): Promise<RevokeResult> {
    return this.api.post<RevokeResult>('/api/v1/auth/revoke', body);
  }
  /** Who this client's token belongs to. */
  whoami(): Promise<WhoAmI> {
    return this.api.get<WhoAmI>('/api/v1/auth/whoami');
  }
  /** Rotate the signing key (administrators). */
  rotateKeys(): Promise<RotateResult> {
    return this.api.post<RotateResult>('/api/v1/auth/keys/rotate');
  }
  /** The JWKS (served raw, outside the envelope). */
  async jwks(): Promise<Jwks> {
    const res = await fetch(this.api.url('/.well-known/jwks.json'));
    if (!res.ok) throw new Error(`GET /.well-known/jwks.json: HTTP ${res.status}`);
    return (await res.json()) as Jwks;
  }

  // ---- users ----

  createUser(body: CreateUserBody): Promise<User> {
    return this.api.post<User>('/api/v1/users', body);
  }
  getUser(id: string): Promise<User> {
    return this.api.get<User>(`/api/v1/users/${seg(id)}`);
  }
  async listUsers(query: { scope_id?: string; limit?: number; offset?: number } = {}): Promise<User[]> {
    return (await this.api.get<{ users: User[] }>('/api/v1/users', { query })).users;
  }
  updateUser(id: string, body: UpdateUserBody): Promise<User> {
    return this.api.patch<User>(`/api/v1/users/${seg(id)}`, body);
  }
  deleteUser(id: string): Promise<{ id: string; deleted: true }> {
    return this.api.delete(`/api/v1/users/${seg(id)}`);
  }
  setPassword(
    id: string,
    password: string,
    currentPassword?: string,
  ): Promise<{ id: string; password_set: true }> {
    return this.api.post(`/api/v1/users/${seg(id)}/password`, {
      password,
      ...(currentPassword === undefined ? {} : { current_password: currentPassword }),
    });
  }
  enrollTotp(id: string): Promise<TotpEnrollment> {
    return this.api.post<TotpEnrollment>(`/api/v1/users/${seg(id)}/mfa/totp`);
  }
  confirmTotp(id: string, code: string): Promise<{ id: string; mfa_enabled: true }> {
    return this.api.post(`/api/v1/users/${seg(id)}/mfa/totp/confirm`, { code });
  }

  // ---- projects ----

  createProject(body: CreateProjectBody): Promise<Project> {
    return this.api.post<Project>('/api/v1/projects', body);
  }
  async listProjects(query: { org_id?: string } = {}): Promise<Project[]> {
    return (await this.api.get<{ projects: Project[] }>('/api/v1/projects', { query })).projects;
  }
  addMember(projectId: string, principalId: string, role: string): Promise<Member> {
    return this.api.post<Member>(`/api/v1/projects/${seg(projectId)}/members`, {
      principal_id: principalId,
      role,
    });
  }
  async listMembers(projectId: string): Promise<Member[]> {
    return (await this.api.get<{ members: Member[] }>(`/api/v1/projects/${seg(projectId)}/members`)).members;
  }

  // ---- access control ----

  createPolicy(body: PolicyBody): Promise<Policy> {
    return this.api.post<Policy>('/api/v1/policies', body);
  }
  createRole(body: RoleBody): Promise<Role> {
    return this.api.post<Role>('/api/v1/roles', body);
  }
  createBinding(body: CreateBindingBody): Promise<Binding> {
    return this.api.post<Binding>('/api/v1/bindings', body);
  }
}
