/**
 * IAM in the service registry (ARCHITECTURE.md §1: HTTP 8083): users, credentials, tokens, projects,
 * policies and the audit query. Its state lives in ChainFire (`ctx.openStore()`); its data dir holds the
 * bootstrap credential (`bootstrap-admin.json`, first start only) and the key that seals signing keys.
 */
import { restService } from './rest-service.js';

/** IAM's entry for `photoncloud up` / `photoncloud serve iam`. */
export const iam = restService({
  name: 'iam',
  title: 'IAM',
  summary: 'identity and access: users, credentials, tokens, projects, roles/policies, audit',
  defaultPort: 8083,
  async start(opts) {
    const { startIamServer } = await import('../../../../services/iam/src/server.js');
    return startIamServer(opts);
  },
});
