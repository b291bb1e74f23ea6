/**
 * Image routes: register an image (`POST /api/v1/images`), upload its parts as raw bodies
 * (`PUT /api/v1/images/{id}/{disk|kernel|initrd}`, `Content-Type: application/octet-stream`), list, get and
 * delete. Bytes go to disk under the service's data dir; the record (with the files' paths) to ChainFire.
 */
import type { Readable } from 'node:stream';
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
import {
  CreateImage,
  Deleted,
  IdParams,
  Image,
  ImagePartParams,
  scopeQueryProperties,
} from '@photoncloud/plasmavmc-api';
import type { ImagePart, ImageRecord } from '@photoncloud/plasmavmc-api';
import type { ImageFiles } from '../storage/image-files.js';
import type { VmRepo, Versioned } from '../storage/vm-repo.js';
import { ownerOf, scopeOf } from './scope.js';

/** What the image routes need. */
export interface ImageRouteDeps {
  repo: VmRepo;
  files: ImageFiles;
  newId(prefix: string): string;
  now(): string;
  /** Largest upload, bytes. */
  maxUploadBytes: number;
}

const ScopeQuery = Type.Object(scopeQueryProperties);

/** Parts each format needs before the image is available. */
export function requiredParts(format: ImageRecord['format']): ImagePart[] {
  return format === 'kernel' ? ['kernel', 'initrd'] : ['disk'];
}

function imageToWire(r: ImageRecord): Image {
  return {
    id: r.id,
    name: r.name,
    org_id: r.org_id,
    project_id: r.project_id,
    format: r.format,
    status: r.status,
    cmdline: r.cmdline,
    parts: Object.keys(r.paths).sort(),
    size_bytes: r.size_bytes,
    virtual_size_bytes: r.virtual_size_bytes,
    created_at: r.created_at,
  };
}

async function imageInScope(repo: VmRepo, id: string, scope: Scope): Promise<Versioned<ImageRecord>> {
  const img = await repo.getImage(id);
  if (img === undefined || !inScope(scope, img.value)) throw new NotFoundError('Image', id);
  return img;
}

/** Register the image routes. */
export async function registerImageRoutes(app: ServiceApp, deps: ImageRouteDeps): Promise<void> {
  const { repo, files } = deps;

  app.post(
    '/api/v1/images',
    {
      schema: {
        tags: ['images'],
        summary: 'Register an image',
        description:
          'format qcow2 or raw: then PUT the disk to /api/v1/images/{id}/disk; format kernel: PUT /kernel and /initrd (cmdline is the kernel command line, e.g. "console=ttyS0"). The image is pending until every part is uploaded.',
        body: CreateImage,
        response: responses({ 201: envelope(Image) }),
      },
    },
    async (request, reply) => {
      const body = request.body;
      const owner = ownerOf(request, body);
      if (body.cmdline !== undefined && body.format !== 'kernel') {
        throw new ValidationError('cmdline', 'format', 'cmdline applies to kernel images only', {
          details: { location: 'body' },
        });
      }
      const record: ImageRecord = {
        id: deps.newId('img'),
        name: body.name,
        ...owner,
        format: body.format,
        status: 'pending',
        cmdline: body.format === 'kernel' ? (body.cmdline ?? 'console=ttyS0') : null,
        paths: {},
        size_bytes: 0,
        virtual_size_bytes: null,
        created_at: deps.now(),
      };
      await repo.putImage(record);
      setAuditResource(request, record.id);
      reply.code(201);
      return ok(request, imageToWire(record));
    },
  );

  await app.register(async (plain) => {
    const scope = plain as unknown as ServiceApp;
    scope.addContentTypeParser('application/octet-stream', (_req, payload, done) => {
      done(null, payload);
    });
    scope.put(
      '/api/v1/images/:id/:part',
      {
        bodyLimit: deps.maxUploadBytes,
        schema: {
          tags: ['images'],
          summary: 'Upload a part of an image',
          description:
            'Raw bytes (Content-Type: application/octet-stream). A qcow2 disk is checked with qemu-img.',
          params: ImagePartParams,
          querystring: ScopeQuery,
          response: responses({ 200: envelope(Image) }),
        },
      },
      async (request) => {
        const { id, part } = request.params;
        const img = await imageInScope(repo, id, scopeOf(request, request.query));
        const needed = requiredParts(img.value.format);
        if (!needed.includes(part)) {
          throw new ValidationError(
            'part',
            'enum',
            `a ${img.value.format} image has parts ${needed.join(', ')}`,
            {
              details: { location: 'path', allowed: needed },
            },
          );
        }
        if (img.value.paths[part] !== undefined) {
          throw new ConflictError(`part ${part} of image ${id} is already uploaded`);
        }
        const body = request.body as Readable | undefined;
        if (body === undefined || typeof (body as { pipe?: unknown }).pipe !== 'function') {
          throw new ValidationError(
            'body',
            'type',
            'send the bytes with Content-Type: application/octet-stream',
          );
        }
        const stored = await files.write(id, part, body, img.value.format);
        const paths = { ...img.value.paths, [part]: stored.path };
        const next: ImageRecord = {
          ...img.value,
          paths,
          size_bytes: img.value.size_bytes + stored.sizeBytes,
          virtual_size_bytes: part === 'disk' ? stored.virtualSizeBytes : img.value.virtual_size_bytes,
          status: needed.every((p) => paths[p] !== undefined) ? 'available' : 'pending',
        };
        if (!(await repo.updateImage(next, img.modRevision))) {
          throw new ConflictError(`image ${id} changed during the upload; retry`);
        }
        setAuditResource(request, id);
        return ok(request, imageToWire(next));
      },
    );
  });

  app.get(
    '/api/v1/images',
    {
      schema: {
        tags: ['images'],
        summary: 'List images',
        querystring: Type.Object({ ...scopeQueryProperties, ...pageQueryProperties() }),
        response: responses({ 200: listEnvelope('images', Image) }),
      },
    },
    async (request, reply) => {
      const p = parsePage(request.query);
      const scope = scopeOf(request, request.query);
      const items = (await repo.listImages()).filter((i) => inScope(scope, i)).map(imageToWire);
      return listResponse(request, reply, {
        key: 'images',
        items: items.slice(p.offset, p.offset + p.limit),
        total: items.length,
        page: p,
      });
    },
  );

  app.get(
    '/api/v1/images/:id',
    {
      schema: {
        tags: ['images'],
        summary: 'Get an image',
        params: IdParams,
        querystring: ScopeQuery,
        response: responses({ 200: envelope(Image) }),
      },
    },
    async (request) => {
      const img = await imageInScope(repo, request.params.id, scopeOf(request, request.query));
      return ok(request, imageToWire(img.value));
    },
  );

  app.delete(
    '/api/v1/images/:id',
    {
      schema: {
        tags: ['images'],
        summary: 'Delete an image',
        description: '409 CONFLICT while a VM uses it.',
        params: IdParams,
        querystring: ScopeQuery,
        response: responses({ 200: envelope(Deleted) }),
      },
    },
    async (request) => {
      const id = request.params.id;
      await imageInScope(repo, id, scopeOf(request, request.query));
      const users = (await repo.listVms()).filter((v) => v.image_id === id).map((v) => v.id);
      if (users.length > 0) {
        throw new ConflictError(`image ${id} is used by ${users.length} VM(s)`, {
          details: { vm_ids: users },
        });
      }
      await repo.deleteImage(id);
      await files.remove(id);
      setAuditResource(request, id);
      return ok(request, { id, deleted: true as const });
    },
  );
}
