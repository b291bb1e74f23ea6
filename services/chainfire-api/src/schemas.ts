/**
 * ChainFire's REST wire types (guide §1). The same TypeBox schemas validate requests in the server's
 * routes, document them in its OpenAPI, and type the client. Keys and values are UTF-8 strings on this
 * API; revisions are integers; lease IDs are decimal strings ("0" = no lease).
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

/** Longest key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/**
 * Longest value, in UTF-8 bytes: etcd's request limit (1.5 MiB = 1572864 bytes, `--max-request-bytes`)
 * minus 4 KiB for the key and the request's own framing, so that any value accepted here fits in one
 * store request.
 */
export const MAX_VALUE_BYTES = 1_572_864 - 4096;

/** Lease IDs: decimal (as the API returns them) or `0x`-prefixed hex (as etcdctl prints them). */
export const LEASE_ID_PATTERN = '^([0-9]{1,20}|0[xX][0-9a-fA-F]{1,16})$';

/** One key-value pair, as GET and list return it. */
export const KvItem = Type.Object(
  {
    key: Type.String({ description: 'The key (UTF-8)' }),
    value: Type.String({ description: 'The value (UTF-8)' }),
    create_revision: Type.Integer({ minimum: 0, description: 'Store revision of the key’s creation' }),
    mod_revision: Type.Integer({
      minimum: 0,
      description: 'Store revision of the last change; also the ETag',
    }),
    version: Type.Integer({ minimum: 0, description: 'Number of changes since creation' }),
    lease: Type.String({ description: 'Attached lease ID (decimal), "0" when none' }),
  },
  { description: 'A key-value pair' },
);
/** One key-value pair. */
export type KvItem = Static<typeof KvItem>;

/** Body of `PUT /api/v1/kv/{key}` and `POST /api/v1/kv/{key}/put`. */
export const PutBody = Type.Object({
  value: Type.String({
    description: `The value, a UTF-8 string of at most ${MAX_VALUE_BYTES} bytes (1.5 MiB minus 4 KiB); larger values → 413`,
  }),
  lease: Type.Optional(
    Type.String({
      pattern: LEASE_ID_PATTERN,
      description:
        'Attach the key to this lease (decimal, or 0x-prefixed hex as etcdctl prints it); "0" = none',
    }),
  ),
});
/** Body of a put. */
export type PutBody = Static<typeof PutBody>;

/** Result of a put. */
export const PutResult = Type.Object({
  key: Type.String(),
  revision: Type.Integer({
    description: 'Store revision of this write (the key’s new mod_revision and ETag)',
  }),
});
/** Result of a put. */
export type PutResult = Static<typeof PutResult>;

/** Result of a delete. */
export const DeleteResult = Type.Object({
  key: Type.String(),
  deleted: Type.Integer({ minimum: 0, description: 'Number of keys deleted' }),
  revision: Type.Integer({ description: 'Store revision after the delete' }),
});
/** Result of a delete. */
export type DeleteResult = Static<typeof DeleteResult>;

/** `data` of `GET /api/v1/kv`. */
export const KvList = Type.Object({ items: Type.Array(KvItem) });
/** `data` of a list. */
export type KvList = Static<typeof KvList>;

/**
 * A node or member ID: an integer (ChainFire's Raft node IDs), or a decimal string when it does not
 * fit a JSON number exactly (etcd's random 64-bit member IDs).
 */
export const NodeId = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: '^[0-9]+$' })], {
  description: 'Integer node ID, or a decimal string when above 2^53',
});
/** A node or member ID. */
export type NodeId = Static<typeof NodeId>;

/** etcd-compatible member ID: a decimal uint64 string (what etcdctl shows, in hex). */
export const MemberId = Type.String({ pattern: '^[0-9]+$', description: 'etcd member ID, decimal uint64' });

/** One cluster member. */
export const ClusterMember = Type.Object({
  id: NodeId,
  member_id: MemberId,
  name: Type.String(),
  peer_urls: Type.Array(Type.String()),
  client_urls: Type.Array(Type.String()),
  is_learner: Type.Boolean(),
});
/** One cluster member. */
export type ClusterMember = Static<typeof ClusterMember>;

/** Raft roles. */
export const RaftRole = Type.Union([
  Type.Literal('leader'),
  Type.Literal('follower'),
  Type.Literal('candidate'),
  Type.Literal('learner'),
]);
/** Raft roles. */
export type RaftRole = Static<typeof RaftRole>;

/** `data` of `GET /api/v1/cluster/status`. */
export const ClusterStatus = Type.Object({
  node_id: NodeId,
  member_id: MemberId,
  cluster_id: Type.String({ description: 'Cluster ID, decimal uint64' }),
  term: Type.Integer({ minimum: 0, description: 'Current Raft term' }),
  role: RaftRole,
  is_leader: Type.Boolean(),
  leader_id: Type.Union([NodeId, Type.Null()], { description: 'null while there is no leader' }),
  applied_index: Type.Integer({ minimum: 0, description: 'Last Raft index applied to the store' }),
  commit_index: Type.Integer({ minimum: 0, description: 'Last Raft index known committed' }),
  revision: Type.Integer({ minimum: 0, description: 'Current store revision' }),
  members: Type.Array(ClusterMember),
});
/** Cluster status. */
export type ClusterStatus = Static<typeof ClusterStatus>;

/** Body of `POST /api/v1/cluster/members` (guide §1). */
export const AddMemberBody = Type.Object({
  node_id: Type.Optional(
    Type.Integer({
      minimum: 1,
      description: 'Small numeric ID for the new member; default the next free one',
    }),
  ),
  address: Type.String({
    minLength: 3,
    maxLength: 300,
    pattern: '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9._-]+):[0-9]{1,5}$',
    description: 'The new member’s gRPC address host:port (peer traffic rides on ChainFire’s gRPC port)',
  }),
  name: Type.Optional(Type.String({ maxLength: 128, description: 'Member name' })),
  is_learner: Type.Optional(
    Type.Boolean({
      description:
        'Add as a learner (default true: it catches up without counting toward the quorum, then is promoted — `photoncloud serve chainfire --join` promotes itself)',
    }),
  ),
});
/** Body of an add-member request. */
export type AddMemberBody = Static<typeof AddMemberBody>;
