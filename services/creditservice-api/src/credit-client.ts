/** A typed client for CreditService's REST API, on the shared client kit. */
import { ApiClient } from '@photoncloud/http-kit/client';
import type { ApiClientOptions } from '@photoncloud/http-kit/client';
import type {
  ChargeBody,
  CommitBody,
  CreateWalletBody,
  PutQuotaBody,
  Quota,
  ReleaseBody,
  Reservation,
  ReserveBody,
  TopUpBody,
  Transaction,
  Wallet,
  WalletMutation,
} from './schemas.js';

/** Options every mutating call takes. */
export interface MutationOptions {
  /** Sent as Idempotency-Key: a retry with the same key never applies twice. */
  idempotencyKey?: string;
}

/** A page of transactions. */
export interface TransactionPage {
  transactions: Transaction[];
  total: number;
}

function seg(s: string): string {
  return encodeURIComponent(s);
}

function req(opts: MutationOptions): { idempotencyKey?: string } {
  return opts.idempotencyKey === undefined ? {} : { idempotencyKey: opts.idempotencyKey };
}

/** CreditService REST client: wallets, transactions, reservations, quotas. */
export class CreditServiceClient {
  readonly api: ApiClient;

  constructor(opts: ApiClientOptions | ApiClient) {
    this.api = opts instanceof ApiClient ? opts : new ApiClient(opts);
  }

  /** Open a wallet (409 CONFLICT when the project has one). */
  createWallet(body: CreateWalletBody, opts: MutationOptions = {}): Promise<Wallet> {
    return this.api.post<Wallet>('/api/v1/wallets', body, req(opts));
  }

  /** A wallet (ApiClientError 404 when absent). */
  getWallet(projectId: string): Promise<Wallet> {
    return this.api.get<Wallet>(`/api/v1/wallets/${seg(projectId)}`);
  }

  /** Add credits. */
  topUp(projectId: string, body: TopUpBody, opts: MutationOptions = {}): Promise<WalletMutation> {
    return this.api.post<WalletMutation>(`/api/v1/wallets/${seg(projectId)}/topup`, body, req(opts));
  }

  /** Debit credits directly (409 CONFLICT, details.reason INSUFFICIENT_CREDITS, when short). */
  charge(projectId: string, body: ChargeBody, opts: MutationOptions = {}): Promise<WalletMutation> {
    return this.api.post<WalletMutation>(`/api/v1/wallets/${seg(projectId)}/charge`, body, req(opts));
  }

  /** One page of a wallet's transactions. */
  async transactions(
    projectId: string,
    q: { limit?: number; offset?: number; order?: 'asc' | 'desc' } = {},
  ): Promise<TransactionPage> {
    const res = await this.api.request<{ transactions: Transaction[] }>(
      'GET',
      `/api/v1/wallets/${seg(projectId)}/transactions`,
      undefined,
      { query: { limit: q.limit, offset: q.offset, order: q.order } },
    );
    return { transactions: res.data.transactions, total: res.meta.total ?? res.data.transactions.length };
  }

  /** Every transaction of a wallet, oldest first. */
  allTransactions(projectId: string): AsyncGenerator<Transaction, void, undefined> {
    return this.api.paginate<Transaction>(`/api/v1/wallets/${seg(projectId)}/transactions`, 'transactions', {
      pageSize: 100,
    });
  }

  /** Reserve credits. */
  reserve(body: ReserveBody, opts: MutationOptions = {}): Promise<Reservation> {
    return this.api.post<Reservation>('/api/v1/reservations', body, req(opts));
  }

  /** A reservation. */
  getReservation(id: string): Promise<Reservation> {
    return this.api.get<Reservation>(`/api/v1/reservations/${seg(id)}`);
  }

  /** Commit a reservation. */
  commit(id: string, body: CommitBody = {}, opts: MutationOptions = {}): Promise<Reservation> {
    return this.api.post<Reservation>(`/api/v1/reservations/${seg(id)}/commit`, body, req(opts));
  }

  /** Release a reservation. */
  release(id: string, body: ReleaseBody = {}, opts: MutationOptions = {}): Promise<Reservation> {
    return this.api.post<Reservation>(`/api/v1/reservations/${seg(id)}/release`, body, req(opts));
  }

  /** A project's quota. */
  getQuota(projectId: string): Promise<Quota> {
    return this.api.get<Quota>(`/api/v1/quotas/${seg(projectId)}`);
  }

  /** Replace a project's limits. */
  putQuota(projectId: string, body: PutQuotaBody, opts: { ifMatch?: string | number } = {}): Promise<Quota> {
    return this.api.put<Quota>(
      `/api/v1/quotas/${seg(projectId)}`,
      body,
      opts.ifMatch === undefined ? {} : { ifMatch: opts.ifMatch },
    );
  }

  /** Consume usage against the limits (409 CONFLICT, details.reason QUOTA_EXCEEDED, when over). */
  consumeQuota(
    projectId: string,
    resources: Record<string, number>,
    opts: MutationOptions & { resourceId?: string } = {},
  ): Promise<Quota> {
    const body = opts.resourceId === undefined ? { resources } : { resources, resource_id: opts.resourceId };
    return this.api.post<Quota>(`/api/v1/quotas/${seg(projectId)}/consume`, body, req(opts));
  }

  /** Give usage back. */
  releaseQuota(
    projectId: string,
    resources: Record<string, number>,
    opts: MutationOptions & { resourceId?: string } = {},
  ): Promise<Quota> {
    const body = opts.resourceId === undefined ? { resources } : { resources, resource_id: opts.resourceId };
    return this.api.post<Quota>(`/api/v1/quotas/${seg(projectId)}/release`, body, req(opts));
  }
}
