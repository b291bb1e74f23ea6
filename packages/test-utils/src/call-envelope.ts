/** A request helper for the services' REST APIs: every answer must be the JSON envelope, never a 5xx. */

/** A JSON response. */
export interface EnvelopeResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- bodies are navigated dynamically in assertions.
  body: any;
}

/** Options of `callEnvelope`. */
export interface CallEnvelopeOptions {
  /** 5xx statuses a test expects (e.g. 503 from an unreachable dependency); any other 5xx throws. */
  allow5xx?: readonly number[];
}

/**
 * Send a request to a service and parse the envelope. A body that is not a string or bytes is sent as JSON
 * (`Content-Type: application/json` unless the caller sets one). Throws when the answer is a 5xx not in
 * `allow5xx` (bad input is never a 500) or not an envelope.
 */
export async function callEnvelope(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  opts: CallEnvelopeOptions = {},
): Promise<EnvelopeResponse> {
  const h: Record<string, string> = { ...headers };
  const init: RequestInit = { method, headers: h };
  if (body !== undefined) {
    init.body =
      typeof body === 'string' || body instanceof Uint8Array
        ? (body as string | Uint8Array)
        : JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  const parsed = JSON.parse(text) as { success?: unknown };
  if (res.status >= 500 && !(opts.allow5xx ?? []).includes(res.status))
    throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  if (typeof parsed.success !== 'boolean') throw new Error(`${method} ${path}: not an envelope: ${text}`);
  return { status: res.status, headers: res.headers, body: parsed };
}
