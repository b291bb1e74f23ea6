/** A typed client for PlasmaVMC's REST API, on the shared client kit. */
import { ApiClient, ApiClientError } from '@photoncloud/http-kit/client';
import type { ApiClientOptions, QueryValue } from '@photoncloud/http-kit/client';
import type {
  ConsoleAccess,
  CreateImage,
  CreateVm,
  Deleted,
  Image,
  ImagePart,
  StopVm,
  Vm,
} from './schemas.js';

/** Tenancy filter of a request (`?org_id=&project_id=`). */
export interface ScopeFilter {
  org_id?: string;
  project_id?: string;
}

/** Options of create calls. */
export interface CreateOptions {
  /** Sent as Idempotency-Key: a retry with the same key returns the first result. */
  idempotencyKey?: string;
}

function q(obj: object | undefined): Record<string, QueryValue> {
  const out: Record<string, QueryValue> = {};
  for (const [k, v] of Object.entries(obj ?? {})) if (v !== undefined) out[k] = v as QueryValue;
  return out;
}

const enc = encodeURIComponent;

/** PlasmaVMC REST client: VMs, their actions and console, and images. */
export class PlasmaVmcClient {
  readonly api: ApiClient;
  private readonly token: string | undefined;

  constructor(opts: ApiClientOptions | ApiClient) {
    this.api = opts instanceof ApiClient ? opts : new ApiClient(opts);
    this.token = opts instanceof ApiClient ? undefined : opts.token;
  }

  /** Create a VM; it answers at once in state Creating. */
  createVm(body: CreateVm, opts: CreateOptions = {}): Promise<Vm> {
    return this.api.post<Vm>(
      '/api/v1/vms',
      body,
      opts.idempotencyKey === undefined ? {} : { idempotencyKey: opts.idempotencyKey },
    );
  }
  /** Every VM in scope (all pages). */
  async listVms(scope: ScopeFilter = {}): Promise<Vm[]> {
    const out: Vm[] = [];
    for await (const vm of this.api.paginate<Vm>('/api/v1/vms', 'vms', { query: q(scope), pageSize: 100 }))
      out.push(vm);
    return out;
  }
  /** A VM; ApiClientError 404 when absent. */
  getVm(id: string, scope: ScopeFilter = {}): Promise<Vm> {
    return this.api.get<Vm>(`/api/v1/vms/${enc(id)}`, { query: q(scope) });
  }
  /** Ask a stopped VM to run (409 when the state does not allow it). */
  startVm(id: string, scope: ScopeFilter = {}): Promise<Vm> {
    return this.api.post<Vm>(`/api/v1/vms/${enc(id)}/start`, undefined, { query: q(scope) });
  }
  /** Ask a VM to stop: ACPI power-down, forced after a timeout (or at once with `force`). */
  stopVm(id: string, body: StopVm = {}, scope: ScopeFilter = {}): Promise<Vm> {
    return this.api.post<Vm>(`/api/v1/vms/${enc(id)}/stop`, body, { query: q(scope) });
  }
  /** Reset a running VM. */
  rebootVm(id: string, scope: ScopeFilter = {}): Promise<Vm> {
    return this.api.post<Vm>(`/api/v1/vms/${enc(id)}/reboot`, undefined, { query: q(scope) });
  }
  /** Delete a VM (stopped and cleaned up by its node; it reads as Deleting until then). */
  deleteVm(id: string, scope: ScopeFilter = {}): Promise<Vm> {
    return this.api.delete<Vm>(`/api/v1/vms/${enc(id)}`, { query: q(scope) });
  }
  /** A short-lived WebSocket URL of the VM's serial console. */
  console(id: string, scope: ScopeFilter = {}): Promise<ConsoleAccess> {
    return this.api.get<ConsoleAccess>(`/api/v1/vms/${enc(id)}/console`, { query: q(scope) });
  }

  /** Register an image; upload its parts with `uploadImagePart`. */
  createImage(body: CreateImage, opts: CreateOptions = {}): Promise<Image> {
    return this.api.post<Image>(
      '/api/v1/images',
      body,
      opts.idempotencyKey === undefined ? {} : { idempotencyKey: opts.idempotencyKey },
    );
  }
  /** Upload one part of an image (`disk` of qcow2/raw images, `kernel` and `initrd` of kernel images). */
  async uploadImagePart(
    id: string,
    part: ImagePart,
    data: Uint8Array,
    scope: ScopeFilter = {},
  ): Promise<Image> {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (this.token !== undefined) headers['authorization'] = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await fetch(this.api.url(`/api/v1/images/${enc(id)}/${part}`, q(scope)), {
        method: 'PUT',
        headers,
        body: data,
      });
    } catch (err) {
      throw new ApiClientError({
        status: 0,
        code: 'NETWORK_ERROR',
        message: `PUT image ${id}/${part}: ${err instanceof Error ? err.message : String(err)}`,
        cause: err,
      });
    }
    const env = (await res.json()) as {
      data?: Image;
      error?: { code: string; message: string; details?: Record<string, unknown> | null };
    };
    if (!res.ok || env.data === undefined) {
      throw new ApiClientError({
        status: res.status,
        code: env.error?.code ?? `HTTP_${res.status}`,
        message: env.error?.message ?? `HTTP ${res.status}`,
        details: env.error?.details ?? null,
      });
    }
    return env.data;
  }
  /** Every image in scope. */
  async listImages(scope: ScopeFilter = {}): Promise<Image[]> {
    const out: Image[] = [];
    for await (const img of this.api.paginate<Image>('/api/v1/images', 'images', {
      query: q(scope),
      pageSize: 100,
    }))
      out.push(img);
    return out;
  }
  /** An image. */
  getImage(id: string, scope: ScopeFilter = {}): Promise<Image> {
    return this.api.get<Image>(`/api/v1/images/${enc(id)}`, { query: q(scope) });
  }
  /** Delete an image (409 while a VM uses it). */
  deleteImage(id: string, scope: ScopeFilter = {}): Promise<Deleted> {
    return this.api.delete<Deleted>(`/api/v1/images/${enc(id)}`, { query: q(scope) });
  }
}
