/** What IAM's routes work with: every component over one Store. */
import type { Logger } from '@photoncloud/log';
import type { Store } from '@photoncloud/store';
import type { Credentials } from './credentials/credentials.js';
import type { AccessControl } from './storage/access-control.js';
import type { Directory } from './storage/directory.js';
import type { Keyring } from './tokens/keyring.js';
import type { TokenService } from './tokens/token-service.js';

/** IAM's components. */
export interface IamContext {
  store: Store;
  dir: Directory;
  creds: Credentials;
  tokens: TokenService;
  keyring: Keyring;
  access: AccessControl;
  logger: Logger;
  now: () => number;
}
