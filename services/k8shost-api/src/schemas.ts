/**
 * k8shost's REST wire types (guide §5) and the records it shares with the node agent through ChainFire.
 * The same TypeBox schemas validate requests, document the OpenAPI and type the client.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

/** DNS-1123 label: pod, service, namespace and node names (they become store key segments). */
export const NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const Name = Type.String({ minLength: 1, maxLength: 63, pattern: NAME_PATTERN });
const LabelKey = '^([a-z0-9A-Z]([-a-z0-9A-Z_./]*[a-z0-9A-Z])?)$';
const Labels = Type.Record(
  Type.String({ minLength: 1, maxLength: 253, pattern: LabelKey }),
  Type.String({ maxLength: 63, pattern: '^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$' }),
  { description: 'Label key → value' },
);
const Quantity = Type.String({
  minLength: 1,
  maxLength: 32,
  description: 'CPU ("500m", "1", "0.5") or memory ("128Mi", "1Gi", "1000000") quantity',
});
const ResourceList = Type.Object(
  { cpu: Type.Optional(Quantity), memory: Type.Optional(Quantity) },
  { additionalProperties: false },
);

/** Pod phases (Kubernetes' definitions). */
export const PodPhase = Type.Union([
  Type.Literal('Pending'),
  Type.Literal('Running'),
  Type.Literal('Succeeded'),
  Type.Literal('Failed'),
  Type.Literal('Unknown'),
]);
/** A pod phase. */
export type PodPhase = Static<typeof PodPhase>;

/** Restart policies. */
export const RestartPolicy = Type.Union([
  Type.Literal('Always'),
  Type.Literal('OnFailure'),
  Type.Literal('Never'),
]);
/** A restart policy. */
export type RestartPolicy = Static<typeof RestartPolicy>;

/** Body of `POST /api/v1/pods`. */
export const CreatePod = Type.Object(
  {
    name: Name,
    namespace: Type.Optional(Name),
    image: Type.String({ minLength: 1, maxLength: 512, description: 'Image reference, e.g. nginx:1.21' }),
    command: Type.Optional(Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 64 })),
    args: Type.Optional(Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 256 })),
    env: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$' }),
            value: Type.String({ maxLength: 32768 }),
          },
          { additionalProperties: false },
        ),
        { maxItems: 256 },
      ),
    ),
    working_dir: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, pattern: '^/' })),
    labels: Type.Optional(Labels),
    resources: Type.Optional(
      Type.Object(
        { requests: Type.Optional(ResourceList), limits: Type.Optional(ResourceList) },
        { additionalProperties: false },
      ),
    ),
    restart_policy: Type.Optional(RestartPolicy),
    node_name: Type.Optional(Name),
  },
  { additionalProperties: false },
);
/** Body of a pod creation. */
export type CreatePod = Static<typeof CreatePod>;

/** A pod's desired state as stored (`pods/{ns}/{name}`). */
export const PodSpec = Type.Object({
  uid: Type.String(),
  name: Type.String(),
  namespace: Type.String(),
  image: Type.String(),
  command: Type.Array(Type.String()),
  args: Type.Array(Type.String()),
  env: Type.Array(Type.Object({ name: Type.String(), value: Type.String() })),
  working_dir: Type.Union([Type.String(), Type.Null()]),
  labels: Type.Record(Type.String(), Type.String()),
  resources: Type.Object({
    requests: Type.Object({ cpu: Type.Optional(Type.String()), memory: Type.Optional(Type.String()) }),
    limits: Type.Object({ cpu: Type.Optional(Type.String()), memory: Type.Optional(Type.String()) }),
  }),
  restart_policy: RestartPolicy,
  created_at: Type.String(),
});
/** A pod's desired state. */
export type PodSpec = Static<typeof PodSpec>;

/** What the node agent reports about a pod (`pod-status/{ns}/{name}`). */
export const PodStatus = Type.Object({
  uid: Type.String(),
  phase: PodPhase,
  pod_ip: Type.Union([Type.String(), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  message: Type.Union([Type.String(), Type.Null()]),
  restart_count: Type.Integer(),
  exit_code: Type.Union([Type.Integer(), Type.Null()]),
  container_state: Type.Union([Type.Literal('waiting'), Type.Literal('running'), Type.Literal('terminated')]),
  started_at: Type.Union([Type.String(), Type.Null()]),
  finished_at: Type.Union([Type.String(), Type.Null()]),
});
/** A pod's observed state. */
export type PodStatus = Static<typeof PodStatus>;

/** A pod as the API shows it: desired + observed. */
export const Pod = Type.Object({
  uid: Type.String(),
  name: Type.String(),
  namespace: Type.String(),
  phase: PodPhase,
  pod_ip: Type.Union([Type.String(), Type.Null()]),
  node_name: Type.Union([Type.String(), Type.Null()]),
  image: Type.String(),
  command: Type.Array(Type.String()),
  args: Type.Array(Type.String()),
  env: Type.Array(Type.Object({ name: Type.String(), value: Type.String() })),
  working_dir: Type.Union([Type.String(), Type.Null()]),
  labels: Type.Record(Type.String(), Type.String()),
  resources: PodSpec.properties.resources,
  restart_policy: RestartPolicy,
  restart_count: Type.Integer(),
  exit_code: Type.Union([Type.Integer(), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  message: Type.Union([Type.String(), Type.Null()]),
  container_state: Type.String(),
  started_at: Type.Union([Type.String(), Type.Null()]),
  finished_at: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
});
/** A pod. */
export type Pod = Static<typeof Pod>;

/** A service port. */
export const ServicePort = Type.Object({
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  target_port: Type.Integer({ minimum: 1, maximum: 65535 }),
  protocol: Type.Union([Type.Literal('TCP'), Type.Literal('UDP')]),
});
/** A service port. */
export type ServicePort = Static<typeof ServicePort>;

/** Body of `POST /api/v1/services` (the guide's flat form: one port). */
export const CreateService = Type.Object(
  {
    name: Name,
    namespace: Type.Optional(Name),
    service_type: Type.Optional(Type.Literal('ClusterIP')),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    target_port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    protocol: Type.Optional(Type.Union([Type.Literal('TCP'), Type.Literal('UDP')])),
    selector: Type.Optional(Labels),
  },
  { additionalProperties: false },
);
/** Body of a service creation. */
export type CreateService = Static<typeof CreateService>;

/** A service endpoint: a ready pod behind it. */
export const Endpoint = Type.Object({ ip: Type.String(), pod: Type.String(), node_name: Type.String() });
/** A service endpoint. */
export type Endpoint = Static<typeof Endpoint>;

/** A service. */
export const Service = Type.Object({
  uid: Type.String(),
  name: Type.String(),
  namespace: Type.String(),
  type: Type.Literal('ClusterIP'),
  cluster_ip: Type.String(),
  ports: Type.Array(ServicePort),
  selector: Type.Record(Type.String(), Type.String()),
  endpoints: Type.Array(Endpoint),
  created_at: Type.String(),
});
/** A service. */
export type Service = Static<typeof Service>;

/** A node as the agent registers it (`nodes/{name}`). */
export const NodeRecord = Type.Object({
  name: Type.String(),
  capacity_cpu: Type.String(),
  capacity_memory: Type.String(),
  allocatable_cpu: Type.String(),
  allocatable_memory: Type.String(),
  pod_cidr: Type.String(),
  agent_url: Type.Union([Type.String(), Type.Null()]),
  registered_at: Type.String(),
});
/** A node's registration. */
export type NodeRecord = Static<typeof NodeRecord>;

/** A node. `status` is Ready while the agent's heartbeat lease is alive. */
export const Node = Type.Object({
  ...NodeRecord.properties,
  status: Type.Union([Type.Literal('Ready'), Type.Literal('NotReady')]),
});
/** A node. */
export type Node = Static<typeof Node>;

/** Result of a delete. */
export const Deleted = Type.Object({
  namespace: Type.String(),
  name: Type.String(),
  deleted: Type.Literal(true),
});
/** Result of a delete. */
export type Deleted = Static<typeof Deleted>;

/** Path parameters of a namespaced object. */
export const NsNameParams = Type.Object({ namespace: Name, name: Name });

/** A pod's log. */
export const PodLogs = Type.Object({
  namespace: Type.String(),
  name: Type.String(),
  logs: Type.String(),
});
/** A pod's log. */
export type PodLogs = Static<typeof PodLogs>;
