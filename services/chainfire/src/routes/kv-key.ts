/**
 * Keys in ChainFire's REST paths. Keys contain `/` and `:` (`config/db/host`, `user:123`), so a key is
 * "the rest of the path" after `/api/v1/kv/`, taken from the raw URL and percent-decoded once; a key
 * may also be sent fully encoded as one segment (`config%2Fdb%2Fhost`). The POST forms end in an
 * action segment: `POST /api/v1/kv/{key}/put` and `…/delete` — the LAST segment of the raw path is the
 * action, so `POST /api/v1/kv/a/put/put` writes the key `a/put`.
 */
import { BadRequestError, MethodNotAllowedError, ValidationError } from '@photoncloud/errors';
import { MAX_KEY_BYTES } from '@photoncloud/chainfire-api';

/** Path prefix of the key routes. */
export const KV_PATH = '/api/v1/kv/';

/** Methods a key path itself serves (for 405 answers). */
export const KEY_METHODS = ['DELETE', 'GET', 'HEAD', 'PUT'];

function rawRest(url: string): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  // The route matched, so the path starts with the prefix; anything else is a routing bug.
  if (!path.startsWith(KV_PATH)) throw new Error(`kv route matched an unexpected path: ${path}`);
  return path.slice(KV_PATH.length);
}

function decode(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new BadRequestError('Malformed key: invalid percent-encoding', {
      hint: 'Percent-encode the key as UTF-8, e.g. with encodeURIComponent',
    });
  }
}

/** Check a decoded key: 1..MAX_KEY_BYTES bytes of UTF-8. */
export function checkKey(key: string, field = 'key'): string {
  if (key.length === 0) {
    throw new ValidationError(field, 'minLength', `${field} must not be empty`, {
      details: { location: 'path' },
      hint: 'To list keys use GET /api/v1/kv?prefix=…',
    });
  }
  const size = Buffer.byteLength(key, 'utf8');
  if (size > MAX_KEY_BYTES) {
    throw new ValidationError(
      field,
      'maxLength',
      `${field} must be at most ${MAX_KEY_BYTES} bytes (got ${size})`,
      {
        details: { location: 'path', limit: MAX_KEY_BYTES },
      },
    );
  }
  return key;
}

/** The key of a GET/PUT/DELETE request. */
export function keyFromUrl(url: string): string {
  return checkKey(decode(rawRest(url)));
}

/** The key and action of a `POST /api/v1/kv/{key}/{put|delete}` request; 405 when there is no action. */
export function keyActionFromUrl(url: string): { key: string; action: 'put' | 'delete' } {
  const rest = rawRest(url);
  const slash = rest.lastIndexOf('/');
  const action = slash < 0 ? '' : rest.slice(slash + 1);
  if (action !== 'put' && action !== 'delete') {
    throw new MethodNotAllowedError('POST', KEY_METHODS, {
      hint: 'Use POST /api/v1/kv/{key}/put or POST /api/v1/kv/{key}/delete, or PUT/DELETE /api/v1/kv/{key}',
    });
  }
  return { key: checkKey(decode(rest.slice(0, slash))), action };
}
