/**
 * Quota rules, pure. A project's quota is a set of limits (resource name → maximum) and the current
 * usage. Other services consume usage before creating something and release it when they delete it;
 * a consumption that would take any resource past its limit is refused as a whole. A resource without
 * a limit is unlimited.
 */

/** The resources the platform's services count (others may be used freely). */
export const KNOWN_RESOURCES = [
  'vcpus',
  'memory_mib',
  'vms',
  'storage_gb',
  'pods',
  'vpcs',
  'subnets',
  'ports',
  'security_groups',
  'load_balancers',
  'dns_zones',
  'buckets',
] as const;

/** A project's quota state. */
export interface QuotaState {
  project_id: string;
  org_id?: string;
  limits: Record<string, number>;
  usage: Record<string, number>;
  created_at: string;
  updated_at: string;
}

/** Why a quota change was refused. */
export interface QuotaRejection {
  code: 'quota_exceeded' | 'release_exceeds_usage';
  message: string;
  details: Record<string, unknown>;
}

/** A new, empty quota (no limits, no usage). */
export function emptyQuota(projectId: string, now: string): QuotaState {
  return { project_id: projectId, limits: {}, usage: {}, created_at: now, updated_at: now };
}

/** Replace the limits (usage is kept; a limit below the usage only blocks further consumption). */
export function setLimits(
  q: QuotaState,
  limits: Record<string, number>,
  now: string,
  orgId?: string,
): QuotaState {
  return {
    ...q,
    ...(orgId === undefined ? {} : { org_id: orgId }),
    limits: { ...limits },
    updated_at: now,
  };
}

/** Add `amounts` to the usage, all or nothing. */
export function consume(
  q: QuotaState,
  amounts: Record<string, number>,
  now: string,
): { ok: true; quota: QuotaState } | { ok: false; rejection: QuotaRejection } {
  const usage = { ...q.usage };
  for (const [name, n] of Object.entries(amounts)) {
    const used = usage[name] ?? 0;
    const limit = q.limits[name];
    if (limit !== undefined && used + n > limit) {
      return {
        ok: false,
        rejection: {
          code: 'quota_exceeded',
          message: `Quota exceeded for ${name}: ${used} used + ${n} requested > limit ${limit}`,
          details: {
            reason: 'QUOTA_EXCEEDED',
            project_id: q.project_id,
            resource: name,
            limit,
            usage: used,
            requested: n,
          },
        },
      };
    }
    usage[name] = used + n;
  }
  return { ok: true, quota: { ...q, usage, updated_at: now } };
}

/** Subtract `amounts` from the usage, all or nothing; never below zero. */
export function releaseUsage(
  q: QuotaState,
  amounts: Record<string, number>,
  now: string,
): { ok: true; quota: QuotaState } | { ok: false; rejection: QuotaRejection } {
  const usage = { ...q.usage };
  for (const [name, n] of Object.entries(amounts)) {
    const used = usage[name] ?? 0;
    if (n > used) {
      return {
        ok: false,
        rejection: {
          code: 'release_exceeds_usage',
          message: `Cannot release ${n} ${name}: only ${used} in use`,
          details: {
            reason: 'RELEASE_EXCEEDS_USAGE',
            project_id: q.project_id,
            resource: name,
            usage: used,
            requested: n,
          },
        },
      };
    }
    if (used - n === 0) delete usage[name];
    else usage[name] = used - n;
  }
  return { ok: true, quota: { ...q, usage, updated_at: now } };
}
