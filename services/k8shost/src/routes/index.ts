/**
 * k8shost's REST routes (guide §5): pods, services, nodes, and pod logs (proxied to the node agent that
 * runs the pod). Namespaces default to `default`.
 */
import { Type } from '@sinclair/typebox';
import { NotFoundError, ServiceUnavailableError, ValidationError } from '@photoncloud/errors';
import {
  envelope,
  listEnvelope,
  listResponse,
  ok,
  pageQueryProperties,
  parsePage,
  responses,
  setAuditResource,
} from '@photoncloud/http-kit';
import type { ServiceApp } from '@photoncloud/http-kit';
import {
  CreatePod,
  CreateService,
  Deleted,
  Node,
  NsNameParams,
  Pod,
  PodLogs,
  Service,
} from '@photoncloud/k8shost-api';
import type { PodSpec } from '@photoncloud/k8shost-api';
import { parseCpu, parseMemory } from '../core/quantity.js';
import { nodeView, podView } from '../core/views.js';
import { nsKey } from '../storage/k8s-repo.js';
import type { K8sRepo } from '../storage/k8s-repo.js';

/** What the routes need. */
export interface RouteDeps {
  repo: K8sRepo;
  newUid(): string;
  now(): string;
  /** A random offset into the service CIDR (spreads allocations). */
  randomOffset(): number;
  /** Tell the controller something changed. */
  kick(): void;
}

const NsQuery = Type.Object({
  namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
  ...pageQueryProperties(),
});
const NodeParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 63 }) });

function checkQuantities(body: CreatePod): void {
  for (const kind of ['requests', 'limits'] as const) {
    const r = body.resources?.[kind];
    if (r === undefined) continue;
    if (r.cpu !== undefined && parseCpu(r.cpu) === null) {
      throw new ValidationError(
        `resources.${kind}.cpu`,
        'pattern',
        `resources.${kind}.cpu is not a CPU quantity`,
      );
    }
    if (r.memory !== undefined && parseMemory(r.memory) === null) {
      throw new ValidationError(
        `resources.${kind}.memory`,
        'pattern',
        `resources.${kind}.memory is not a memory quantity`,
      );
    }
  }
  const rc = body.resources?.requests?.cpu;
  const lc = body.resources?.limits?.cpu;
  if (rc !== undefined && lc !== undefined && (parseCpu(rc) ?? 0) > (parseCpu(lc) ?? 0)) {
    throw new ValidationError('resources.requests.cpu', 'maximum', 'CPU request exceeds its limit');
  }
  const rm = body.resources?.requests?.memory;
  const lm = body.resources?.limits?.memory;
  if (rm !== undefined && lm !== undefined && (parseMemory(rm) ?? 0) > (parseMemory(lm) ?? 0)) {
    throw new ValidationError('resources.requests.memory', 'maximum', 'memory request exceeds its limit');
  }
}

/** Register every k8shost route. */
export function registerK8sRoutes(app: ServiceApp, deps: RouteDeps): void {
  const { repo } = deps;

  app.post(
    '/api/v1/pods',
    {
      schema: {
        tags: ['pods'],
        summary: 'Create a pod',
        description:
          'One container from `image`; `command` overrides the image entrypoint, `args` its cmd. The scheduler binds it to a Ready node with room for its requests; the node agent runs it on runc.',
        body: CreatePod,
        response: responses({ 201: envelope(Pod) }),
      },
    },
    async (request, reply) => {
      const body = request.body;
      checkQuantities(body);
      const spec: PodSpec = {
        uid: deps.newUid(),
        name: body.name,
        namespace: body.namespace ?? 'default',
        image: body.image,
        command: body.command ?? [],
        args: body.args ?? [],
        env: body.env ?? [],
        working_dir: body.working_dir ?? null,
        labels: body.labels ?? {},
        resources: {
          requests: { ...body.resources?.requests },
          limits: { ...body.resources?.limits },
        },
        restart_policy: body.restart_policy ?? 'Always',
        created_at: deps.now(),
      };
      await repo.createPod(spec, body.node_name ?? null);
      deps.kick();
      setAuditResource(request, nsKey(spec.namespace, spec.name));
      reply.code(201);
      return ok(request, podView(spec, body.node_name ?? null, undefined));
    },
  );

  app.get(
    '/api/v1/pods',
    {
      schema: {
        tags: ['pods'],
        summary: 'List pods',
        querystring: NsQuery,
        response: responses({ 200: listEnvelope('pods', Pod) }),
      },
    },
    async (request, reply) => {
      const p = parsePage(request.query);
      const snap = await repo.snapshot();
      const ns = request.query.namespace;
      const items = snap.pods
        .filter((x) => ns === undefined || x.namespace === ns)
        .map((x) => {
          const k = nsKey(x.namespace, x.name);
          return podView(x, snap.bindings.get(k) ?? null, snap.statuses.get(k));
        });
      return listResponse(request, reply, {
        key: 'pods',
        items: items.slice(p.offset, p.offset + p.limit),
        total: items.length,
        page: p,
      });
    },
  );

  app.get(
    '/api/v1/pods/:namespace/:name',
    {
      schema: {
        tags: ['pods'],
        summary: 'Get a pod',
        params: NsNameParams,
        response: responses({ 200: envelope(Pod) }),
      },
    },
    async (request) => {
      const { namespace, name } = request.params;
      const snap = await repo.snapshot();
      const spec = snap.pods.find((x) => x.namespace === namespace && x.name === name);
      if (spec === undefined) throw new NotFoundError('pod', nsKey(namespace, name));
      const k = nsKey(namespace, name);
      return ok(request, podView(spec, snap.bindings.get(k) ?? null, snap.statuses.get(k)));
    },
  );

  app.get(
    '/api/v1/pods/:namespace/:name/logs',
    {
      schema: {
        tags: ['pods'],
        summary: "A pod's container log (stdout and stderr)",
        params: NsNameParams,
        querystring: Type.Object({
          tail_bytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 16777216 })),
        }),
        response: responses({ 200: envelope(PodLogs) }),
      },
    },
    async (request) => {
      const { namespace, name } = request.params;
      const snap = await repo.snapshot();
      const spec = snap.pods.find((x) => x.namespace === namespace && x.name === name);
      if (spec === undefined) throw new NotFoundError('pod', nsKey(namespace, name));
      const nodeName = snap.bindings.get(nsKey(namespace, name));
      const node = snap.nodes.find((n) => n.name === nodeName);
      if (node === undefined || node.agent_url === null) {
        return ok(request, { namespace, name, logs: '' });
      }
      if (!snap.heartbeats.has(node.name)) {
        throw new ServiceUnavailableError(`node ${node.name} is NotReady; its logs are unreachable`, 5);
      }
      const q = request.query.tail_bytes === undefined ? '' : `?tail_bytes=${request.query.tail_bytes}`;
      const url = `${node.agent_url}/api/v1/pods/${namespace}/${name}/logs${q}`;
      let res: Response;
      try {
        // The caller's token goes along: the agent checks it like any service does.
        const auth = request.headers.authorization;
        res = await fetch(url, {
          signal: AbortSignal.timeout(10_000),
          ...(auth === undefined ? {} : { headers: { authorization: auth } }),
        });
      } catch {
        throw new ServiceUnavailableError(`the node agent of ${node.name} did not answer`, 5);
      }
      const body = (await res.json().catch(() => null)) as { data?: { logs?: unknown } } | null;
      if (res.status === 404) return ok(request, { namespace, name, logs: '' });
      const logs = body?.data?.logs;
      if (!res.ok || typeof logs !== 'string') {
        throw new ServiceUnavailableError(`the node agent of ${node.name} answered ${res.status}`, 5);
      }
      return ok(request, { namespace, name, logs });
    },
  );

  app.delete(
    '/api/v1/pods/:namespace/:name',
    {
      schema: {
        tags: ['pods'],
        summary: 'Delete a pod',
        description: 'The node agent stops its container and frees its network.',
        params: NsNameParams,
        response: responses({ 200: envelope(Deleted) }),
      },
    },
    async (request) => {
      const { namespace, name } = request.params;
      await repo.deletePod(namespace, name);
      deps.kick();
      setAuditResource(request, nsKey(namespace, name));
      return ok(request, { namespace, name, deleted: true as const });
    },
  );

  app.post(
    '/api/v1/services',
    {
      schema: {
        tags: ['services'],
        summary: 'Create a service',
        description:
          'ClusterIP from the service CIDR; connections to cluster_ip:port reach a Running pod matching `selector` on target_port (default: port).',
        body: CreateService,
        response: responses({ 201: envelope(Service) }),
      },
    },
    async (request, reply) => {
      const b = request.body;
      const svc = await repo.createService(
        {
          uid: deps.newUid(),
          name: b.name,
          namespace: b.namespace ?? 'default',
          type: 'ClusterIP',
          ports: [{ port: b.port, target_port: b.target_port ?? b.port, protocol: b.protocol ?? 'TCP' }],
          selector: b.selector ?? {},
          endpoints: [],
          created_at: deps.now(),
        },
        deps.randomOffset(),
      );
      deps.kick();
      setAuditResource(request, nsKey(svc.namespace, svc.name));
      reply.code(201);
      return ok(request, svc);
    },
  );

  app.get(
    '/api/v1/services',
    {
      schema: {
        tags: ['services'],
        summary: 'List services',
        querystring: NsQuery,
        response: responses({ 200: listEnvelope('services', Service) }),
      },
    },
    async (request, reply) => {
      const p = parsePage(request.query);
      const snap = await repo.snapshot();
      const ns = request.query.namespace;
      const items = snap.services
        .filter((s) => ns === undefined || s.namespace === ns)
        .map((s) => ({ ...s, endpoints: snap.endpoints.get(nsKey(s.namespace, s.name)) ?? [] }));
      return listResponse(request, reply, {
        key: 'services',
        items: items.slice(p.offset, p.offset + p.limit),
        total: items.length,
        page: p,
      });
    },
  );

  app.get(
    '/api/v1/services/:namespace/:name',
    {
      schema: {
        tags: ['services'],
        summary: 'Get a service',
        params: NsNameParams,
        response: responses({ 200: envelope(Service) }),
      },
    },
    async (request) => {
      const { namespace, name } = request.params;
      const snap = await repo.snapshot();
      const s = snap.services.find((x) => x.namespace === namespace && x.name === name);
      if (s === undefined) throw new NotFoundError('service', nsKey(namespace, name));
      return ok(request, { ...s, endpoints: snap.endpoints.get(nsKey(namespace, name)) ?? [] });
    },
  );

  app.delete(
    '/api/v1/services/:namespace/:name',
    {
      schema: {
        tags: ['services'],
        summary: 'Delete a service',
        description: 'Releases its cluster IP; node agents remove its forwarding rules.',
        params: NsNameParams,
        response: responses({ 200: envelope(Deleted) }),
      },
    },
    async (request) => {
      const { namespace, name } = request.params;
      await repo.deleteService(namespace, name);
      setAuditResource(request, nsKey(namespace, name));
      return ok(request, { namespace, name, deleted: true as const });
    },
  );

  app.get(
    '/api/v1/nodes',
    {
      schema: {
        tags: ['nodes'],
        summary: 'List nodes',
        querystring: Type.Object({ ...pageQueryProperties() }),
        response: responses({ 200: listEnvelope('nodes', Node) }),
      },
    },
    async (request, reply) => {
      const p = parsePage(request.query);
      const snap = await repo.snapshot();
      const items = snap.nodes.map((n) => nodeView(n, snap.heartbeats.has(n.name)));
      return listResponse(request, reply, {
        key: 'nodes',
        items: items.slice(p.offset, p.offset + p.limit),
        total: items.length,
        page: p,
      });
    },
  );

  app.get(
    '/api/v1/nodes/:name',
    {
      schema: {
        tags: ['nodes'],
        summary: 'Get a node',
        params: NodeParams,
        response: responses({ 200: envelope(Node) }),
      },
    },
    async (request) => {
      const snap = await repo.snapshot();
      const n = snap.nodes.find((x) => x.name === request.params.name);
      if (n === undefined) throw new NotFoundError('node', request.params.name);
      return ok(request, nodeView(n, snap.heartbeats.has(n.name)));
    },
  );
}
