/**
 * PlasmaVMC's seams to other services, through their typed clients: PrismNET (a port per VM, whose MAC the
 * guest NIC uses) and CreditService (quota and a credit reservation per VM). The caller's Authorization
 * header is forwarded so the other service applies the same identity and tenancy. A seam that is not
 * configured is skipped (billing) or refused (networking); one that does not answer is a 503, never a 500.
 */
import { ApiError, codeForStatus, ERROR_STATUS, ServiceUnavailableError } from '@photoncloud/errors';
import { ApiClientError } from '@photoncloud/http-kit/client';
import { CreditServiceClient } from '@photoncloud/creditservice-api';
import type { Reservation } from '@photoncloud/creditservice-api';
import { PrismNetClient } from '@photoncloud/prismnet-api';
import type { Port } from '@photoncloud/prismnet-api';
import type { ErrorCode } from '@photoncloud/errors';

/** Map another service's answer onto ours: its 4xx pass through, no answer (or a 5xx) is our 503. */
export function seamError(service: string, err: unknown): Error {
  if (err instanceof ApiClientError) {
    if (err.status === 0 || err.status >= 500) {
      return new ServiceUnavailableError(`${service} is unavailable: ${err.message}`, undefined, {
        details: { service },
        hint: `Check that ${service} is running`,
      });
    }
    const code: ErrorCode = err.code in ERROR_STATUS ? (err.code as ErrorCode) : codeForStatus(err.status);
    return new ApiError(code, `${service}: ${err.message}`, {
      details: { service, ...(err.details ?? {}) },
    });
  }
  return err instanceof Error ? err : new Error(String(err));
}

function isStatus(err: unknown, ...statuses: number[]): boolean {
  return err instanceof ApiClientError && statuses.includes(err.status);
}

/** The seams of one request. */
export class Seams {
  private readonly headers: Record<string, string>;

  constructor(
    private readonly urls: Record<string, string>,
    authorization: string | undefined,
  ) {
    this.headers = authorization === undefined ? {} : { authorization };
  }

  private prismnet(): PrismNetClient {
    const baseUrl = this.urls['prismnet'];
    if (baseUrl === undefined) {
      throw new ServiceUnavailableError('PrismNET is not configured; subnet_id needs it', undefined, {
        details: { service: 'prismnet', field: 'subnet_id' },
      });
    }
    return new PrismNetClient({ baseUrl, headers: this.headers });
  }

  private credit(): CreditServiceClient | undefined {
    const baseUrl = this.urls['creditservice'];
    return baseUrl === undefined ? undefined : new CreditServiceClient({ baseUrl, headers: this.headers });
  }

  /** Create the VM's port in `subnetId`, owned by the VM. */
  async createPort(
    vmId: string,
    subnetId: string,
    owner: { org_id: string; project_id: string },
  ): Promise<Port> {
    try {
      return await this.prismnet().createPort({
        subnet_id: subnetId,
        device_owner: vmId,
        device_id: vmId,
        name: `${vmId}-nic0`,
        ...owner,
      });
    } catch (err) {
      if (err instanceof ApiClientError && err.status === 404) {
        throw new ApiError('NOT_FOUND', `subnet ${subnetId} not found`, {
          details: { resource: 'Subnet', id: subnetId, field: 'subnet_id' },
        });
      }
      throw seamError('PrismNET', err);
    }
  }

  /** Delete the VM's port (already gone is fine). */
  async deletePort(portId: string, owner: { org_id: string; project_id: string }): Promise<void> {
    try {
      await this.prismnet().deletePort(portId, owner);
    } catch (err) {
      if (isStatus(err, 404)) return;
      throw seamError('PrismNET', err);
    }
  }

  /** Whether billing is configured at all. */
  get billing(): boolean {
    return this.urls['creditservice'] !== undefined;
  }

  /** Consume the VM's usage from the project's quota (409 QUOTA_EXCEEDED passes through). */
  async consumeQuota(projectId: string, vmId: string, usage: Record<string, number>): Promise<boolean> {
    const credit = this.credit();
    if (credit === undefined) return false;
    try {
      await credit.consumeQuota(projectId, usage, {
        resourceId: vmId,
        idempotencyKey: `plasmavmc-quota-${vmId}`,
      });
      return true;
    } catch (err) {
      throw seamError('CreditService', err);
    }
  }

  /** Give the VM's usage back. */
  async releaseQuota(projectId: string, vmId: string, usage: Record<string, number>): Promise<void> {
    const credit = this.credit();
    if (credit === undefined) return;
    try {
      await credit.releaseQuota(projectId, usage, {
        resourceId: vmId,
        idempotencyKey: `plasmavmc-quota-release-${vmId}`,
      });
    } catch (err) {
      throw seamError('CreditService', err);
    }
  }

  /** Reserve `amount` credits for the VM when the project has a wallet; null when it has none. */
  async reserve(projectId: string, vmId: string, amount: number): Promise<Reservation | null> {
    const credit = this.credit();
    if (credit === undefined) return null;
    try {
      await credit.getWallet(projectId);
    } catch (err) {
      if (isStatus(err, 404)) return null; // No wallet: the project is not billed.
      throw seamError('CreditService', err);
    }
    try {
      return await credit.reserve(
        {
          project_id: projectId,
          amount,
          resource_type: 'vm',
          resource_id: vmId,
          description: `VM ${vmId}`,
          ttl_seconds: 30 * 86_400,
        },
        { idempotencyKey: `plasmavmc-reserve-${vmId}` },
      );
    } catch (err) {
      throw seamError('CreditService', err);
    }
  }

  /** Charge `amount` of the reservation and release the rest (already resolved is fine). */
  async commit(reservationId: string, vmId: string, amount: number): Promise<void> {
    const credit = this.credit();
    if (credit === undefined) return;
    try {
      await credit.commit(reservationId, { actual_amount: amount, resource_id: vmId });
    } catch (err) {
      if (isStatus(err, 404, 409)) return;
      throw seamError('CreditService', err);
    }
  }

  /**
   * Charge usage beyond the reservation directly (idempotent per VM). A wallet that cannot pay is not a
   * reason to keep a VM the user deletes: a 409 (e.g. INSUFFICIENT_CREDITS) skips the overage.
   */
  async charge(projectId: string, vmId: string, amount: number): Promise<void> {
    const credit = this.credit();
    if (credit === undefined) return;
    try {
      await credit.charge(
        projectId,
        {
          amount,
          resource_id: vmId,
          resource_type: 'vm',
          description: `VM ${vmId} usage beyond its reservation`,
        },
        { idempotencyKey: `plasmavmc-usage-${vmId}` },
      );
    } catch (err) {
      if (isStatus(err, 404, 409)) return;
      throw seamError('CreditService', err);
    }
  }

  /** Give a reservation back (undoing a failed creation). */
  async release(reservationId: string): Promise<void> {
    const credit = this.credit();
    if (credit === undefined) return;
    try {
      await credit.release(reservationId, { reason: 'VM creation failed' });
    } catch (err) {
      if (isStatus(err, 404, 409)) return;
      throw seamError('CreditService', err);
    }
  }
}
