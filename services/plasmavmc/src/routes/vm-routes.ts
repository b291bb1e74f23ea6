/**
 * VM routes (guide §4, patterns doc: reboot, console). A create or an action records the desired state in
 * ChainFire and answers at once; the node agent converges QEMU and reports back, and every read derives the
 * state shown from both (`visibleState`). A VM outside the caller's scope answers 404, like a missing one.
 */
import { Type } from '@sinclair/typebox';
import { ConflictError, NotFoundError, ValidationError } from '@photoncloud/errors';
import {
  envelope,
  inScope,
  listEnvelope,
  listResponse,
  ok,
  pageQueryProperties,
  parsePage,
  responses,
  setAuditResource,
} from '@photoncloud/http-kit';
import type { Scope, ServiceApp } from '@photoncloud/http-kit';
import { CreateVm, IdParams, scopeQueryProperties, StopVm, Vm } from '@photoncloud/plasmavmc-api';
import type { BootSpec, ImageRecord, VmSpecRecord, VmStatusRecord } from '@photoncloud/plasmavmc-api';
import type { FastifyRequest } from 'fastify';
import {
  applyAction,
  hourlyRate,
  macFromBytes,
  quotaUsage,
  usageCharge,
  visibleState,
} from '../core/vm-state.js';
import type { VmAction } from '../core/vm-state.js';
import type { VmRepo, Versioned } from '../storage/vm-repo.js';
import { ownerOf, scopeOf } from './scope.js';
import { Seams } from './seams.js';

/** What the routes need. */
export interface RouteDeps {
  repo: VmRepo;
  newId(prefix: string): string;
  now(): string;
  nowMs(): number;
  randomBytes(n: number): Uint8Array;
  /** Other services' base URLs (`prismnet`, `creditservice`). */
  serviceUrls: Record<string, string>;
}

const ScopeQuery = Type.Object(scopeQueryProperties);
const GIB = 1024 * 1024 * 1024;
const DEFAULT_STOP_TIMEOUT_SECONDS = 30;

/** The wire form of a VM. */
export function vmToWire(spec: VmSpecRecord, status: VmStatusRecord | undefined): Vm {
  const state = visibleState(spec, status);
  return {
    id: spec.id,
    name: spec.name,
    org_id: spec.org_id,
    project_id: spec.project_id,
    state,
    cpus: spec.vcpus,
    memory_mb: spec.memory_mib,
    hypervisor: spec.hypervisor,
    accelerator: status?.phase === 'Running' ? status.accelerator : null,
    image_id: spec.image_id,
    disk_size_gb: spec.disk_size_gb,
    subnet_id: spec.subnet_id,
    port_id: spec.port_id,
    ip_address: spec.ip_address,
    mac_address: spec.mac_address,
    node: status?.node ?? null,
    error: state === 'Error' ? (status?.message ?? 'unknown error') : null,
    created_at: spec.created_at,
    updated_at:
      status !== undefined && status.updated_at > spec.updated_at ? status.updated_at : spec.updated_at,
  };
}

function authorization(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  return typeof h === 'string' && h !== '' ? h : undefined;
}

/** A VM visible in `scope`, or 404. */
export async function vmInScope(repo: VmRepo, id: string, scope: Scope): Promise<Versioned<VmSpecRecord>> {
  const vm = await repo.getVm(id);
  if (vm === undefined || !inScope(scope, vm.value)) throw new NotFoundError('VM', id);
  return vm;
}

/** First defined of aliased fields. */
function pick<T>(...values: Array<T | undefined>): T | undefined {
  return values.find((v) => v !== undefined);
}

async function resolveImage(repo: VmRepo, ref: string, scope: Scope): Promise<ImageRecord> {
  const byId = await repo.getImage(ref);
  let image = byId !== undefined && inScope(scope, byId.value) ? byId.value : undefined;
  if (image === undefined) {
    // The guide names images by name ("ubuntu-22.04"): accept a unique name within the scope.
    const named = (await repo.listImages()).filter((i) => i.name === ref && inScope(scope, i));
    if (named.length > 1) {
      throw new ConflictError(`several images are named ${ref}; use the image ID`, {
        details: { field: 'image_id', ids: named.map((i) => i.id) },
      });
    }
    image = named[0];
  }
  if (image === undefined) {
    throw new NotFoundError('Image', ref, { details: { field: 'image_id' } });
  }
  if (image.status !== 'available') {
    throw new ConflictError(`image ${image.id} is not available yet: upload its parts first`, {
      details: { field: 'image_id', status: image.status },
    });
  }
  return image;
}

/** Register the VM routes. */
export function registerVmRoutes(app: ServiceApp, deps: RouteDeps): void {
  const { repo } = deps;

  const answer = async (spec: VmSpecRecord) => vmToWire(spec, await repo.getStatus(spec.id));

  app.post(
    '/api/v1/vms',
    {
      schema: {
        tags: ['vms'],
        summary: 'Create a VM',
        description:
          'Records the VM and answers at once in state Creating; the node agent starts QEMU and the state moves to Running. ' +
          'image_id is an image ID or name (a disk image gets a qcow2 overlay of disk_size_gb; a kernel image boots directly); ' +
          'without one the VM runs firmware only. subnet_id attaches a PrismNET port whose MAC the NIC uses. ' +
          'With CreditService configured, vcpus/memory_mib/vms are consumed from the project quota and one hour of credits is reserved when the project has a wallet.',
        body: CreateVm,
        response: responses({ 201: envelope(Vm) }),
      },
    },
    async (request, reply) => {
      const body = request.body;
      const owner = ownerOf(request, body);
      const vcpus = pick(body.vcpus, body.cpu_cores, body.cpus) ?? 1;
      const memoryMib = pick(body.memory_mib, body.memory_mb) ?? 512;
      const imageRef = pick(body.image_id, body.image);
      let diskGb = pick(body.disk_size_gb, body.disk_gb) ?? null;
      const scope: Scope = { orgId: owner.org_id, projectId: owner.project_id };

      const boot: BootSpec = {
        disk_path: null,
        disk_format: null,
        kernel_path: null,
        initrd_path: null,
        cmdline: null,
      };
      let imageId: string | null = null;
      if (imageRef !== undefined) {
        const image = await resolveImage(repo, imageRef, scope);
        imageId = image.id;
        if (image.format === 'kernel') {
          boot.kernel_path = image.paths.kernel ?? null;
          boot.initrd_path = image.paths.initrd ?? null;
          boot.cmdline = image.cmdline;
        } else {
          boot.disk_path = image.paths.disk ?? null;
          boot.disk_format = image.format;
          const minGb = Math.max(1, Math.ceil((image.virtual_size_bytes ?? 0) / GIB));
          if (diskGb === null) diskGb = minGb;
          else if (diskGb < minGb) {
            throw new ValidationError(
              'disk_size_gb',
              'minimum',
              `disk_size_gb must be at least ${minGb} (the image's size)`,
              {
                details: { location: 'body', minimum: minGb },
              },
            );
          }
        }
      }

      const id = deps.newId('vm');
      const seams = new Seams(deps.serviceUrls, authorization(request));
      const usage = quotaUsage(vcpus, memoryMib);
      const undo: Array<() => Promise<void>> = [];
      let spec: VmSpecRecord;
      try {
        const quotaConsumed = await seams.consumeQuota(owner.project_id, id, usage);
        if (quotaConsumed) undo.push(() => seams.releaseQuota(owner.project_id, id, usage));
        const reservation = await seams.reserve(owner.project_id, id, hourlyRate(vcpus, memoryMib));
        if (reservation !== null) undo.push(() => seams.release(reservation.id));
        let port: { id: string; ip_address: string; mac_address: string } | null = null;
        if (body.subnet_id !== undefined) {
          const p = await seams.createPort(id, body.subnet_id, owner);
          port = p;
          undo.push(() => seams.deletePort(p.id, owner));
        }
        const now = deps.now();
        spec = {
          id,
          name: body.name,
          ...owner,
          vcpus,
          memory_mib: memoryMib,
          hypervisor: body.hypervisor ?? 'kvm',
          image_id: imageId,
          disk_size_gb: diskGb,
          boot,
          subnet_id: body.subnet_id ?? null,
          port_id: port?.id ?? null,
          ip_address: port?.ip_address ?? null,
          mac_address: port?.mac_address ?? macFromBytes(deps.randomBytes(3)),
          desired: body.start === false ? 'Stopped' : 'Running',
          generation: 1,
          reboot_seq: 0,
          force_stop: false,
          stop_timeout_seconds: DEFAULT_STOP_TIMEOUT_SECONDS,
          reservation_id: reservation?.id ?? null,
          quota_consumed: quotaConsumed,
          created_at: now,
          updated_at: now,
        };
        await repo.createVm(spec);
      } catch (err) {
        for (const fn of undo.reverse()) await fn().catch(() => undefined);
        throw err;
      }
      setAuditResource(request, id);
      reply.code(201);
      return ok(request, vmToWire(spec, undefined));
    },
  );

  app.get(
    '/api/v1/vms',
    {
      schema: {
        tags: ['vms'],
        summary: 'List VMs',
        querystring: Type.Object({ ...scopeQueryProperties, ...pageQueryProperties() }),
        response: responses({ 200: listEnvelope('vms', Vm) }),
      },
    },
    async (request, reply) => {
      const p = parsePage(request.query);
      const scope = scopeOf(request, request.query);
      const [specs, statuses] = await Promise.all([repo.listVms(), repo.statuses()]);
      const items = specs.filter((v) => inScope(scope, v)).map((v) => vmToWire(v, statuses.get(v.id)));
      return listResponse(request, reply, {
        key: 'vms',
        items: items.slice(p.offset, p.offset + p.limit),
        total: items.length,
        page: p,
      });
    },
  );

  app.get(
    '/api/v1/vms/:id',
    {
      schema: {
        tags: ['vms'],
        summary: 'Get a VM',
        params: IdParams,
        querystring: ScopeQuery,
        response: responses({ 200: envelope(Vm) }),
      },
    },
    async (request) => {
      const vm = await vmInScope(repo, request.params.id, scopeOf(request, request.query));
      return ok(request, await answer(vm.value));
    },
  );

  /** Apply an action with compare-and-swap, retrying when a concurrent write got there first. */
  async function act(
    request: FastifyRequest,
    id: string,
    scope: Scope,
    action: VmAction,
  ): Promise<VmSpecRecord> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const vm = await vmInScope(repo, id, scope);
      const state = visibleState(vm.value, await repo.getStatus(id));
      const result = applyAction(vm.value, state, action, deps.now());
      if (!result.ok) {
        throw new ConflictError(result.reason, { details: { state, action: action.kind } });
      }
      if (!result.changed) return result.spec;
      if (await repo.updateVm(result.spec, vm.modRevision)) {
        setAuditResource(request, id);
        return result.spec;
      }
    }
    throw new ConflictError(`VM ${id} is changing concurrently; retry`);
  }

  for (const kind of ['start', 'reboot'] as const) {
    app.post(
      `/api/v1/vms/:id/${kind}`,
      {
        schema: {
          tags: ['vms'],
          summary: kind === 'start' ? 'Start a VM' : 'Reboot a VM (reset)',
          description:
            kind === 'start'
              ? 'From Stopped or Error. Starting a VM that is already Creating/Starting/Running changes nothing; 409 while it is Stopping, Rebooting or Deleting.'
              : 'Only a Running VM reboots (409 otherwise); the guest is reset through QMP.',
          params: IdParams,
          querystring: ScopeQuery,
          response: responses({ 202: envelope(Vm) }),
        },
      },
      async (request, reply) => {
        const spec = await act(request, request.params.id, scopeOf(request, request.query), { kind });
        reply.code(202);
        return ok(request, await answer(spec));
      },
    );
  }

  app.post(
    '/api/v1/vms/:id/stop',
    {
      // `curl -X POST …/stop` without a body is a graceful stop with the defaults.
      preValidation: async (request: FastifyRequest) => {
        if (request.body === undefined || request.body === null) request.body = {};
      },
      schema: {
        tags: ['vms'],
        summary: 'Stop a VM',
        description:
          'ACPI power-down, then quit/kill after timeout_seconds (default 30); force: true kills at once. 409 while Deleting.',
        params: IdParams,
        querystring: ScopeQuery,
        body: StopVm,
        response: responses({ 202: envelope(Vm) }),
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const spec = await act(request, request.params.id, scopeOf(request, request.query), {
        kind: 'stop',
        force: body.force ?? false,
        timeoutSeconds: body.timeout_seconds ?? DEFAULT_STOP_TIMEOUT_SECONDS,
      });
      reply.code(202);
      return ok(request, await answer(spec));
    },
  );

  app.delete(
    '/api/v1/vms/:id',
    {
      schema: {
        tags: ['vms'],
        summary: 'Delete a VM',
        description:
          'Releases its PrismNET port, charges the hours used from its credit reservation and gives its quota back, then the node stops QEMU and removes its disk; the VM reads as Deleting until then.',
        params: IdParams,
        querystring: ScopeQuery,
        response: responses({ 202: envelope(Vm) }),
      },
    },
    async (request, reply) => {
      const id = request.params.id;
      const scope = scopeOf(request, request.query);
      let vm = await vmInScope(repo, id, scope);
      if (vm.value.desired === 'Deleted')
        throw new ConflictError('the VM is already being deleted', { details: { state: 'Deleting' } });
      const seams = new Seams(deps.serviceUrls, authorization(request));
      // Each seam's cleanup is recorded as soon as it is done, so a retry after a 503 never repeats one.
      const steps: Array<{
        done: (s: VmSpecRecord) => boolean;
        run: (s: VmSpecRecord) => Promise<Partial<VmSpecRecord>>;
      }> = [
        {
          done: (s) => s.port_id === null,
          run: async (s) => {
            await seams.deletePort(s.port_id as string, s);
            return { port_id: null };
          },
        },
        {
          done: (s) => s.reservation_id === null,
          run: async (s) => {
            const rate = hourlyRate(s.vcpus, s.memory_mib);
            const bill = usageCharge(rate, deps.nowMs() - Date.parse(s.created_at), rate);
            await seams.commit(s.reservation_id as string, s.id, bill.commit);
            if (bill.overage > 0) await seams.charge(s.project_id, s.id, bill.overage);
            return { reservation_id: null };
          },
        },
        {
          done: (s) => !s.quota_consumed,
          run: async (s) => {
            await seams.releaseQuota(s.project_id, s.id, quotaUsage(s.vcpus, s.memory_mib));
            return { quota_consumed: false };
          },
        },
      ];
      for (const step of steps) {
        if (step.done(vm.value)) continue;
        const patch = await step.run(vm.value);
        const next = { ...vm.value, ...patch };
        if (!(await repo.updateVm(next, vm.modRevision)))
          throw new ConflictError(`VM ${id} changed meanwhile; retry`);
        vm = await vmInScope(repo, id, scope);
      }
      const spec = await act(request, id, scope, { kind: 'delete' });
      reply.code(202);
      return ok(request, await answer(spec));
    },
  );
}
