/**
 * CreditService's REST wire types (guide §6). The same TypeBox schemas validate requests in the
 * server's routes, document them in its OpenAPI, and type the client. Amounts are integers in the
 * wallet's currency's smallest unit (yen for the default JPY).
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

/** Largest amount in one request. */
export const MAX_REQUEST_AMOUNT = 1_000_000_000_000_000;
/** Longest reservation TTL: 30 days. */
export const MAX_TTL_SECONDS = 30 * 86_400;
/** TTL of a reservation when the request gives none: 1 hour. */
export const DEFAULT_TTL_SECONDS = 3600;

/** Error `details.reason` values CreditService adds to its 409s (the code itself stays CONFLICT). */
export const CREDIT_REASONS = [
  'INSUFFICIENT_CREDITS',
  'QUOTA_EXCEEDED',
  'RELEASE_EXCEEDS_USAGE',
  'RESERVATION_NOT_ACTIVE',
  'RESERVATION_EXPIRED',
  'WALLET_SUSPENDED',
  'WALLET_EXISTS',
  'BALANCE_OVERFLOW',
] as const;
/** A `details.reason` of a CreditService 409. */
export type CreditReason = (typeof CREDIT_REASONS)[number];

const Id = (description: string) =>
  Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$', description });

/** A positive amount. */
const Amount = (description: string) =>
  Type.Integer({ minimum: 1, maximum: MAX_REQUEST_AMOUNT, description });

const Text = (description: string) => Type.String({ maxLength: 1024, description });

/** A wallet, as GET returns it (guide §6). */
export const Wallet = Type.Object({
  project_id: Type.String(),
  org_id: Type.String(),
  balance: Type.Integer({ description: 'Credits held: available + reserved' }),
  reserved: Type.Integer({ description: 'Credits held by active reservations' }),
  available: Type.Integer({ minimum: 0, description: 'balance − reserved; never negative' }),
  currency: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended')]),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
/** A wallet. */
export type Wallet = Static<typeof Wallet>;

/** Body of `POST /api/v1/wallets`. */
export const CreateWalletBody = Type.Object(
  {
    project_id: Id('Project the wallet belongs to (one wallet per project)'),
    org_id: Id('Organization of the project'),
    initial_balance: Type.Optional(
      Type.Integer({ minimum: 0, maximum: MAX_REQUEST_AMOUNT, description: 'Credits to deposit at once' }),
    ),
    currency: Type.Optional(
      Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code; default JPY' }),
    ),
  },
  { additionalProperties: false },
);
/** Body of wallet creation. */
export type CreateWalletBody = Static<typeof CreateWalletBody>;

/** Body of `POST /api/v1/wallets/{project_id}/topup`. */
export const TopUpBody = Type.Object(
  { amount: Amount('Credits to add'), description: Type.Optional(Text('Shown in the transactions')) },
  { additionalProperties: false },
);
/** Body of a top-up. */
export type TopUpBody = Static<typeof TopUpBody>;

/** Body of `POST /api/v1/wallets/{project_id}/charge` (a direct debit). */
export const ChargeBody = Type.Object(
  {
    amount: Amount('Credits to debit'),
    description: Type.Optional(Text('Shown in the transactions')),
    resource_id: Type.Optional(Id('What was charged for')),
    resource_type: Type.Optional(Id('Kind of resource (vm, pod, …)')),
  },
  { additionalProperties: false },
);
/** Body of a charge. */
export type ChargeBody = Static<typeof ChargeBody>;

/** One ledger posting. */
export const Posting = Type.Object({
  account: Type.String({ description: 'project:<id>:available|reserved, external:deposits|revenue' }),
  amount: Type.Integer({ description: 'Signed; the postings of a transaction sum to zero' }),
});

/** A transaction (one balanced journal entry). */
export const Transaction = Type.Object({
  id: Type.String(),
  project_id: Type.String(),
  seq: Type.Integer({ minimum: 1, description: 'Position in the wallet’s journal' }),
  type: Type.Union(
    ['deposit', 'charge', 'reserve', 'commit', 'release', 'expire'].map((t) => Type.Literal(t)),
    { description: 'deposit/charge move the balance; reserve/release/expire only move available' },
  ),
  amount: Type.Integer({ description: 'Effect on the balance (deposit +, charge and commit −, others 0)' }),
  available_delta: Type.Integer(),
  reserved_delta: Type.Integer(),
  balance_after: Type.Integer(),
  available_after: Type.Integer(),
  description: Type.Optional(Type.String()),
  resource_id: Type.Optional(Type.String()),
  resource_type: Type.Optional(Type.String()),
  reservation_id: Type.Optional(Type.String()),
  timestamp: Type.String({ format: 'date-time' }),
  entries: Type.Array(Posting, { description: 'The double-entry postings' }),
});
/** A transaction. */
export type Transaction = Static<typeof Transaction>;

/** `data` of a top-up or a charge: the wallet after it and the transaction written. */
export const WalletMutation = Type.Object({ wallet: Wallet, transaction: Transaction });
/** `data` of a top-up or a charge. */
export type WalletMutation = Static<typeof WalletMutation>;

/** Query of `GET /api/v1/wallets/{project_id}/transactions`. */
export const TransactionsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'default 20' })),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
  order: Type.Optional(
    Type.Union([Type.Literal('asc'), Type.Literal('desc')], {
      description: 'asc (oldest first, default) or desc',
    }),
  ),
});

/** A reservation. */
export const Reservation = Type.Object({
  id: Type.String(),
  project_id: Type.String(),
  org_id: Type.String(),
  amount: Type.Integer(),
  status: Type.Union(['active', 'committed', 'released', 'expired'].map((s) => Type.Literal(s))),
  description: Type.Optional(Type.String()),
  resource_type: Type.Optional(Type.String()),
  resource_id: Type.Optional(Type.String()),
  created_at: Type.String({ format: 'date-time' }),
  expires_at: Type.String({ format: 'date-time' }),
  resolved_at: Type.Optional(Type.String({ format: 'date-time' })),
  committed_amount: Type.Optional(Type.Integer()),
  reason: Type.Optional(Type.String()),
});
/** A reservation. */
export type Reservation = Static<typeof Reservation>;

const reserveFields = {
  amount: Amount('Credits to hold'),
  description: Type.Optional(Text('Shown in the transactions')),
  resource_type: Type.Optional(Id('Kind of resource (vm, pod, …)')),
  resource_id: Type.Optional(Id('Resource the credits are held for')),
  ttl_seconds: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_TTL_SECONDS,
      description: `Released automatically after this long unless committed; default ${DEFAULT_TTL_SECONDS}`,
    }),
  ),
};

/** Body of `POST /api/v1/reservations`. */
export const ReserveBody = Type.Object(
  { project_id: Id('Wallet to hold credits in'), ...reserveFields },
  { additionalProperties: false },
);
/** Body of a reservation. */
export type ReserveBody = Static<typeof ReserveBody>;

/** Body of `POST /api/v1/wallets/{project_id}/reserve` (patterns-doc alias). */
export const WalletReserveBody = Type.Object(reserveFields, { additionalProperties: false });

/** Body of `POST /api/v1/reservations/{id}/commit`. */
export const CommitBody = Type.Object(
  {
    actual_amount: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_REQUEST_AMOUNT,
        description: 'Credits to charge, at most the reserved amount (the rest is released); default all',
      }),
    ),
    resource_id: Type.Optional(Id('Resource the credits were spent on')),
  },
  { additionalProperties: false },
);
/** Body of a commit. */
export type CommitBody = Static<typeof CommitBody>;

/** Body of `POST /api/v1/reservations/{id}/release`. */
export const ReleaseBody = Type.Object(
  { reason: Type.Optional(Text('Why the credits are given back')) },
  { additionalProperties: false },
);
/** Body of a release. */
export type ReleaseBody = Static<typeof ReleaseBody>;

/** Body of `POST /api/v1/wallets/{project_id}/commit` (patterns-doc alias). */
export const WalletCommitBody = Type.Object(
  { reservation_id: Id('The reservation to commit'), ...CommitBody.properties },
  { additionalProperties: false },
);

/** Body of `POST /api/v1/wallets/{project_id}/release` (patterns-doc alias). */
export const WalletReleaseBody = Type.Object(
  { reservation_id: Id('The reservation to release'), ...ReleaseBody.properties },
  { additionalProperties: false },
);

const ResourceName = '^[a-z][a-z0-9_]{0,62}$';
const Counts = (description: string, minimum: number) =>
  Type.Record(
    Type.String({ pattern: ResourceName }),
    Type.Integer({ minimum, maximum: MAX_REQUEST_AMOUNT }),
    {
      description,
      maxProperties: 64,
      additionalProperties: false,
    },
  );

/** A project's quota: limits and current usage. */
export const Quota = Type.Object({
  project_id: Type.String(),
  org_id: Type.Optional(Type.String()),
  limits: Type.Record(Type.String(), Type.Integer(), {
    description: 'Resource → maximum (vcpus, memory_mib, vms, storage_gb, …); absent = unlimited',
  }),
  usage: Type.Record(Type.String(), Type.Integer(), { description: 'Resource → amount in use' }),
  created_at: Type.Optional(Type.String({ format: 'date-time' })),
  updated_at: Type.Optional(Type.String({ format: 'date-time' })),
});
/** A quota. */
export type Quota = Static<typeof Quota>;

/** Body of `PUT /api/v1/quotas/{project_id}`: replaces the limits. */
export const PutQuotaBody = Type.Object(
  {
    limits: Counts('Resource → maximum; resources left out are unlimited', 0),
    org_id: Type.Optional(Id('Organization of the project')),
  },
  { additionalProperties: false },
);
/** Body of a quota update. */
export type PutQuotaBody = Static<typeof PutQuotaBody>;

/** Body of `POST /api/v1/quotas/{project_id}/consume` and `/release`. */
export const QuotaUsageBody = Type.Object(
  {
    resources: Counts('Resource → amount to consume or release', 1),
    resource_id: Type.Optional(Id('What the usage is for (kept in the audit log)')),
  },
  { additionalProperties: false },
);
/** Body of a quota consume/release. */
export type QuotaUsageBody = Static<typeof QuotaUsageBody>;
