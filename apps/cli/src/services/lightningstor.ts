/**
 * LightningSTOR in the service registry (ARCHITECTURE.md §1: HTTP 9000): S3-compatible object storage.
 * Access keys live in ChainFire (`ctx.openStore()`); objects and their metadata index live in the data
 * dir, which also holds `root-credentials.json` (the root S3 key pair, written on first start, 0600).
 */
import { restService } from './rest-service.js';

/** LightningSTOR's entry for `photoncloud up` / `photoncloud serve lightningstor`. */
export const lightningstor = restService({
  name: 'lightningstor',
  title: 'LightningSTOR',
  summary: 'S3-compatible object storage (SigV4, multipart, presigned URLs)',
  defaultPort: 9000,
  description: 'S3 API + REST API',
  async start(opts) {
    const { startLightningStorServer } = await import('../../../../services/lightningstor/src/server.js');
    return startLightningStorServer(opts);
  },
});
