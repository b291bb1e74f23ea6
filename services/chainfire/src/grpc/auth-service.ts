/**
 * The etcd Auth service. ChainFire's etcd API has no users or roles of its own (PhotonCloud's
 * identity lives in IAM), so it answers exactly as an etcd with auth disabled and no users does:
 * lists are empty, lookups find nothing, enabling auth fails for want of a root user. Creating users
 * or roles is refused with a clear message instead of being silently dropped.
 */
import type * as grpc from '@grpc/grpc-js';
import { headerToWire } from './convert.js';
import { API_ERRORS } from './grpc-errors.js';
import { currentHeader, unary, type ServerContext } from './server-context.js';

interface Named {
  name?: string;
  user?: string;
  role?: string;
}

/** Handlers for etcdserverpb.Auth. */
export function authService(ctx: ServerContext): grpc.UntypedServiceImplementation {
  const header = async () => ({ header: headerToWire(await currentHeader(ctx.store)) });
  const noUser = unary(async () => {
    throw API_ERRORS.userNotFound();
  });
  const noRole = unary(async () => {
    throw API_ERRORS.roleNotFound();
  });
  return {
    AuthEnable: unary(async () => {
      throw API_ERRORS.rootUserNotExist();
    }),
    AuthDisable: unary(header),
    Authenticate: unary(async () => {
      throw API_ERRORS.authNotEnabled();
    }),
    UserAdd: unary(async (req: Named) => {
      if (!req.name) throw API_ERRORS.userEmpty();
      throw API_ERRORS.unsupported('etcd user management (PhotonCloud identities live in IAM)');
    }),
    UserGet: noUser,
    UserList: unary(async () => ({ ...(await header()), users: [] })),
    UserDelete: noUser,
    UserChangePassword: noUser,
    UserGrantRole: noUser,
    UserRevokeRole: noUser,
    RoleAdd: unary(async (req: Named) => {
      if (!req.name) throw API_ERRORS.roleEmpty();
      throw API_ERRORS.unsupported('etcd role management (PhotonCloud policies live in IAM)');
    }),
    RoleGet: noRole,
    RoleList: unary(async () => ({ ...(await header()), roles: [] })),
    RoleDelete: noRole,
    RoleGrantPermission: noRole,
    RoleRevokePermission: noRole,
  };
}
