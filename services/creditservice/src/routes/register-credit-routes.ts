/**
 * CreditService's REST API (guide §6, plus the patterns-doc aliases):
 *
 *   POST /api/v1/wallets                            open a wallet                       201
 *   GET  /api/v1/wallets                            list wallets (org_id/project_id filters)
 *   GET  /api/v1/wallets/{project_id}               balance, reserved, available
 *   POST /api/v1/wallets/{project_id}/topup         add credits
 *   POST /api/v1/wallets/{project_id}/charge        direct debit
 *   GET  /api/v1/wallets/{project_id}/transactions  the journal, paginated
 *   POST /api/v1/reservations                       hold credits with a TTL            201
 *   GET  /api/v1/reservations/{id}
 *   POST /api/v1/reservations/{id}/commit           charge actual_amount ≤ reserved, release the rest
 *   POST /api/v1/reservations/{id}/release
 *   POST /api/v1/wallets/{project_id}/reserve|commit|release   aliases (patterns doc)
 *   GET|PUT /api/v1/quotas/{project_id}             limits and usage
 *   POST /api/v1/quotas/{project_id}/consume|release            usage against the limits, atomic
 *
 * Idempotency-Key is handled by the ledger itself (op-runner.ts), in the same transaction as the change,
 * so the server kit's own idempotency is switched off on these routes: its claim record would survive a
 * crash between the claim and the response and block the client's retry.
 */
import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { ForbiddenError, NotFoundError } from '@photoncloud/errors';
import {
  REPLAYED_HEADER,
  checkPreconditions,
  envelope,
  idempotencyKeyOf,
  inScope,
  listEnvelope,
  listResponse,
  metaFor,
  ok,
  pageQueryProperties,
  parsePage,
  resolveScope,
  responses,
  setAuditResource,
  setETag,
} from '@photoncloud/http-kit';
import type { ServiceApp, SuccessEnvelope } from '@photoncloud/http-kit';
import {
  ChargeBody,
  CommitBody,
  CreateWalletBody,
  DEFAULT_TTL_SECONDS,
  PutQuotaBody,
  Quota,
  QuotaUsageBody,
  ReleaseBody,
  Reservation,
  ReserveBody,
  TopUpBody,
  Transaction,
  TransactionsQuery,
  Wallet,
  WalletCommitBody,
  WalletMutation,
  WalletReleaseBody,
  WalletReserveBody,
} from '@photoncloud/creditservice-api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ReservationState } from '../core/ledger.js';
import { quotaToWire, reservationToWire, walletToWire } from '../storage/credit-store.js';
import type { CreditStore, Result } from '../storage/credit-store.js';
import { opKey } from '../storage/keys.js';
import type { OpRef } from '../storage/op-runner.js';
import { outcomeError } from '../storage/op-runner.js';

const ProjectParams = Type.Object({
  project_id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$' }),
});
const IdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$' }),
});

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** The idempotency identity of `request` for operation `name`, or undefined without a key. */
function opRefOf(request: FastifyRequest, name: string): OpRef | undefined {
  const key = idempotencyKeyOf(request);
  if (key === undefined) return undefined;
  const principal = request.principal?.id ?? 'anonymous';
  return {
    key: opKey(sha256(`${principal}\0${key}`)),
    fingerprint: sha256(`${name}\n${request.url}\n${JSON.stringify(request.body ?? null)}`),
    clientKey: key,
  };
}

/** Answer a ledger result: the recorded status and data (or error), marked when replayed. */
function answer<T>(request: FastifyRequest, reply: FastifyReply, result: Result): SuccessEnvelope<T> {
  if (result.replayed) void reply.header(REPLAYED_HEADER, 'true');
  const o = result.outcome;
  if ('error' in o) throw outcomeError(o);
  void reply.code(o.status);
  return { success: true, data: o.data as T, meta: metaFor(request) };
}

/** Wallet routes take the project in the path: a token scoped elsewhere gets 403. */
function checkProject(request: FastifyRequest, projectId: string): void {
  resolveScope(request, { projectId });
}

/** A reservation the caller may see, or 404 (never revealing another tenant's). */
async function visibleReservation(
  request: FastifyRequest,
  credit: CreditStore,
  id: string,
  projectId?: string,
): Promise<ReservationState> {
  const r = await credit.getReservation(id);
  const scope = resolveScope(request, {});
  if (r === undefined || !inScope(scope, r) || (projectId !== undefined && r.project_id !== projectId)) {
    throw new NotFoundError('reservation', id);
  }
  return r;
}

const NO_KIT_IDEMPOTENCY = { idempotency: false } as const;

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ description: 'Replays the first outcome for the same request; 422 for another' }),
  ),
});

/** Register every CreditService route on `app`. */
export function registerCreditRoutes(app: ServiceApp, credit: CreditStore): void {
  // ---- wallets --------------------------------------------------------------------------------

  app.post(
    '/api/v1/wallets',
    {
      config: NO_KIT_IDEMPOTENCY,
      schema: {
        tags: ['credit'],
        summary: 'Open a wallet for a project',
        body: CreateWalletBody,
        headers: IdempotencyHeaders,
        response: responses({ 201: envelope(Wallet) }),
      },
    },
    async (request, reply) => {
      const body = request.body;
      resolveScope(request, { projectId: body.project_id, orgId: body.org_id });
      setAuditResource(request, body.project_id);
      return answer<Wallet>(
        request,
        reply,
        await credit.createWallet(body, opRefOf(request, 'create-wallet')),
      );
    },
  );

  app.get(
    '/api/v1/wallets',
    {
      schema: {
        tags: ['credit'],
        summary: 'List wallets',
        querystring: Type.Object({
          org_id: Type.Optional(Type.String()),
          project_id: Type.Optional(Type.String()),
          ...pageQueryProperties(),
        }),
        response: responses({ 200: listEnvelope('wallets', Wallet) }),
      },
    },
    async (request, reply) => {
      const q = request.query;
      const page = parsePage(q);
      const scope = resolveScope(request, {
        ...(q.org_id === undefined ? {} : { orgId: q.org_id }),
        ...(q.project_id === undefined ? {} : { projectId: q.project_id }),
      });
      const all = await credit.listWallets((w) => inScope(scope, w));
      const items = all.slice(page.offset, page.offset + page.limit).map(walletToWire);
      return listResponse(request, reply, { key: 'wallets', items, total: all.length, page });
    },
  );

  app.get(
    '/api/v1/wallets/:project_id',
    {
      schema: {
        tags: ['credit'],
        summary: 'Wallet balance',
        params: ProjectParams,
        response: responses({ 200: envelope(Wallet) }),
      },
    },
    async (request) => {
      const { project_id } = request.params;
      checkProject(request, project_id);
      const w = await credit.getWallet(project_id);
      if (w === undefined || !inScope(resolveScope(request, {}), w))
        throw new NotFoundError('wallet', project_id);
      return ok(request, walletToWire(w));
    },
  );

  app.post(
    '/api/v1/wallets/:project_id/topup',
    {
      config: NO_KIT_IDEMPOTENCY,
      schema: {
        tags: ['credit'],
        summary: 'Add credits',
        params: ProjectParams,
        body: TopUpBody,
        headers: IdempotencyHeaders,
        response: responses({ 200: envelope(WalletMutation) }),
      },
    },
    async (request, reply) => {
      const { project_id } = request.params;
      checkProject(request, project_id);
      return answer<WalletMutation>(
        request,
        reply,
        await credit.topUp(project_id, request.body, opRefOf(request, 'topup')),
      );
    },
  );

  app.post(
    '/api/v1/wallets/:project_id/charge',
    {
      config: NO_KIT_IDEMPOTENCY,
      schema: {
        tags: ['credit'],
        summary: 'Debit available credits directly (409 INSUFFICIENT_CREDITS when short)',
        params: ProjectParams,
        body: ChargeBody,
        headers: IdempotencyHeaders,
        response: responses({ 200: envelope(WalletMutation) }),
      },
    },
    async (request, reply) => {
      const { project_id } = request.params;
      checkProject(request, project_id);
      return answer<WalletMutation>(
        request,
        reply,
        await credit.charge(project_id, request.body, opRefOf(request, 'charge')),
      );
    },
  );

  app.get(
    '/api/v1/wallets/:project_id/transactions',
    {
      schema: {
        tags: ['credit'],
        summary: 'The wallet’s transactions (its double-entry journal), oldest first unless order=desc',
        params: ProjectParams,
        querystring: TransactionsQuery,
        response: responses({ 200: listEnvelope('transactions', Transaction) }),
      },
    },
    async (request, reply) => {
      const { project_id } = request.params;
      checkProject(request, project_id);
      const page = parsePage(request.query);
      const w = await credit.getWallet(project_id);
      if (w === undefined || !inScope(resolveScope(request, {}), w))
        throw new NotFoundError('wallet', project_id);
      const res = await credit.transactions(project_id, page, request.query.order ?? 'asc');
      if (res === undefined) throw new NotFoundError('wallet', project_id);
      return listResponse(request, reply, { key: 'transactions', items: res.items, total: res.total, page });
    },
  );

  // ---- reservations ---------------------------------------------------------------------------

  const reserve = async (
    request: FastifyRequest,
    reply: FastifyReply,
    projectId: string,
    body: {
      amount: number;
      description?: string;
      resource_type?: string;
      resource_id?: string;
      ttl_seconds?: number;
    },
  ): Promise<SuccessEnvelope<Reservation>> => {
    checkProject(request, projectId);
    const { ttl_seconds = DEFAULT_TTL_SECONDS, ...rest } = body;
    const result = await credit.reserve(projectId, { ...rest, ttl_seconds }, opRefOf(request, 'reserve'));
    if (!('error' in result.outcome)) setAuditResource(request, (result.outcome.data as { id: string }).id);
    return answer<Reservation>(request, reply, result);
  };

  app.post(
    '/api/v1/reservations',
    {
      config: NO_KIT_IDEMPOTENCY,
      schema: {
        tags: ['credit'],
        summary: 'Reserve credits',
        body: ReserveBody,
        headers: IdempotencyHeaders,
        response: responses({ 201: envelope(Reservation) }),
      },
    },
    async (request, reply) => {
      const { project_id, ...body } = request.body;
      return reserve(request, reply, project_id, body);
    },
  );

  app.post(
    '/api/v1/wallets/:project_id/reserve',
    {
      config: NO_KIT_IDEMPOTENCY,
      schema: {
        tags: ['credit'],
        summary: 'Reserve credits (alias of POST /api/v1/reservations)',
        params: ProjectParams,
        body: WalletReserveBody,
        headers: IdempotencyHeaders,
        response: responses({ 201: envelope(Reservation) }),
      },
    },
    async (request, reply) => reserve(request, reply, request.params.project_id, request.body),
  );

  app.get(
    '/api/v1/reservations/:id',
    {
      schema: {
        tags: ['credit'],
        summary: 'A reservation',
        params: IdParams,
        response: responses({ 200: envelope(Reservation) }),
      },
    },
    async (request) =>
      ok(request, reservationToWire(await visibleReservation(request, credit, request.params.id))),
  );

  app.post(
    '/api/v1/reservations/:id/commit',
    {
      config: NO_KIT_IDEMPOTENCY,
      schema: {
        tags: ['credit'],
        summary: 'Commit a reservation: charge actual_amount (≤ reserved), release the rest',
        params: IdParams,
        body: CommitBody,
        headers: IdempotencyHeaders,
        response: responses({ 200: envelope(Reservation) }),
      },
    },
    async (request, reply) => {
      const r = await visibleReservation(request, credit, request.params.id);
      return answer<Reservation>(
        request,
        reply,
        await credit.commit(r, request.body ?? {}, opRefOf(request, 'commit')),
      );
    },
  );

  app.post(
    '/api/v1/reservations/:id/release',
    {
      config: NO_KIT_IDEMPOTENCY,
      schema: {
        tags: ['credit'],
        summary: 'Release a reservation',
        params: IdParams,
        body: ReleaseBody,
        headers: IdempotencyHeaders,
        response: responses({ 200: envelope(Reservation) }),
      },
    },
    async (request, reply) => {
      const r = await visibleReservation(request, credit, request.params.id);
      return answer<Reservation>(
        request,
        reply,
        await credit.release(r, request.body ?? {}, opRefOf(request, 'release')),
      );
    },
  );

  app.post(
    '/api/v1/wallets/:project_id/commit',
    {
      config: NO_KIT_IDEMPOTENCY,
      schema: {
        tags: ['credit'],
        summary: 'Commit a reservation of this wallet (alias)',
        params: ProjectParams,
        body: WalletCommitBody,
        headers: IdempotencyHeaders,
        response: responses({ 200: envelope(Reservation) }),
      },
    },
    async (request, reply) => {
      const { project_id } = request.params;
      checkProject(request, project_id);
      const { reservation_id, ...body } = request.body;
      const r = await visibleReservation(request, credit, reservation_id, project_id);
      return answer<Reservation>(request, reply, await credit.commit(r, body, opRefOf(request, 'commit')));
    },
  );

  app.post(
    '/api/v1/wallets/:project_id/release',
    {
      config: NO_KIT_IDEMPOTENCY,
      schema: {
        tags: ['credit'],
        summary: 'Release a reservation of this wallet (alias)',
        params: ProjectParams,
        body: WalletReleaseBody,
        headers: IdempotencyHeaders,
        response: responses({ 200: envelope(Reservation) }),
      },
    },
    async (request, reply) => {
      const { project_id } = request.params;
      checkProject(request, project_id);
      const { reservation_id, ...body } = request.body;
      const r = await visibleReservation(request, credit, reservation_id, project_id);
      return answer<Reservation>(request, reply, await credit.release(r, body, opRefOf(request, 'release')));
    },
  );

  // ---- quotas ---------------------------------------------------------------------------------

  app.get(
    '/api/v1/quotas/:project_id',
    {
      schema: {
        tags: ['quota'],
        summary: 'A project’s quota: limits and current usage (no limits = unlimited)',
        params: ProjectParams,
        response: responses({ 200: envelope(Quota) }),
      },
    },
    async (request, reply) => {
      const { project_id } = request.params;
      checkProject(request, project_id);
      const { quota, modRevision } = await credit.getQuota(project_id);
      if (quota.org_id !== undefined && !inScope(resolveScope(request, {}), quota))
        throw new ForbiddenError('This quota belongs to another org');
      if (modRevision > 0) setETag(reply, modRevision);
      return ok(request, quotaToWire(quota));
    },
  );

  app.put(
    '/api/v1/quotas/:project_id',
    {
      schema: {
        tags: ['quota'],
        summary: 'Set a project’s limits (replaces them; usage is kept). If-Match supported',
        params: ProjectParams,
        body: PutQuotaBody,
        response: responses({ 200: envelope(Quota) }),
      },
    },
    async (request, reply) => {
      const { project_id } = request.params;
      const scope = resolveScope(request, {
        projectId: project_id,
        ...(request.body.org_id === undefined ? {} : { orgId: request.body.org_id }),
      });
      const { quota, revision } = await credit.putQuota(
        project_id,
        request.body.limits,
        request.body.org_id ?? scope.orgId,
        (current) => {
          checkPreconditions(request, current);
        },
      );
      setETag(reply, revision);
      return ok(request, quotaToWire(quota));
    },
  );

  for (const direction of ['consume', 'release'] as const) {
    app.post(
      `/api/v1/quotas/:project_id/${direction}`,
      {
        config: NO_KIT_IDEMPOTENCY,
        schema: {
          tags: ['credit'],
          summary:
            direction === 'consume'
              ? 'Consume usage against the limits, all or nothing (409 QUOTA_EXCEEDED)'
              : 'Give usage back',
          params: ProjectParams,
          body: QuotaUsageBody,
          headers: IdempotencyHeaders,
          response: responses({ 200: envelope(Quota) }),
        },
      },
      async (request, reply) => {
        const { project_id } = request.params;
        checkProject(request, project_id);
        const result = await credit.changeUsage(
          project_id,
          request.body.resources,
          direction,
          opRefOf(request, `quota-${direction}`),
        );
        return answer<Quota>(request, reply, result);
      },
    );
  }
}
