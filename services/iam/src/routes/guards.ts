/** Permission checks IAM's handlers add on top of the generic authorization hook. */
import { ForbiddenError, UnauthorizedError } from '@photoncloud/errors';
import type { Principal } from '@photoncloud/http-kit';
import type { FastifyRequest } from 'fastify';

/** The caller; 401 when anonymous (only possible on public routes). */
export function callerOf(request: FastifyRequest): Principal {
  const p = request.principal;
  if (p === null) throw new UnauthorizedError('Authentication required');
  return p;
}

/** 403 unless the caller is a platform administrator (the local admin counts). */
export function requireAdmin(request: FastifyRequest, what: string): Principal {
  const p = callerOf(request);
  if (!p.isAdmin) {
    throw new ForbiddenError(`${what} needs a platform administrator`, {
      hint: 'Use a token of a principal bound to the admin role platform-wide',
    });
  }
  return p;
}

/** 403 unless the caller is `userId` itself or an administrator; returns whether it is itself. */
export function requireSelfOrAdmin(request: FastifyRequest, userId: string): { self: boolean } {
  const p = callerOf(request);
  if (p.id === userId && p.kind === 'token') return { self: true };
  if (p.isAdmin) return { self: false };
  throw new ForbiddenError(`Only ${userId} or an administrator may do this`);
}
