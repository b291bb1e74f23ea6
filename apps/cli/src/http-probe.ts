/** Small HTTP GETs the CLI makes to services (/health, cluster status), bounded in time. */

/** What a GET returned. */
export type ProbeResult =
  | { ok: true; status: number; body: unknown }
  | { ok: false; status: number | null; error: string; body?: unknown };

/** GET `url` and parse the JSON envelope; never throws. `ok` is true for a 2xx answer. */
export async function getJson(
  url: string,
  opts: { timeoutMs?: number; token?: string } = {},
): Promise<ProbeResult> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.token !== undefined) headers['authorization'] = `Bearer ${opts.token}`;
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: AbortSignal.timeout(opts.timeoutMs ?? 2000) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const reason = e.name === 'TimeoutError' ? 'timed out' : (e.cause?.code ?? e.message);
    return { ok: false, status: null, error: reason };
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return { ok: false, status: res.status, error: `HTTP ${res.status} with a body that is not JSON` };
  }
  if (res.ok) return { ok: true, status: res.status, body };
  const err = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const msg = typeof err?.message === 'string' ? `${String(err.code)}: ${err.message}` : `HTTP ${res.status}`;
  return { ok: false, status: res.status, error: msg, body };
}

/** Is the service at `baseUrl` healthy (GET /health answered 200 with status "healthy")? */
export async function isHealthy(baseUrl: string, timeoutMs = 2000): Promise<boolean> {
  const r = await getJson(`${baseUrl}/health`, { timeoutMs });
  if (!r.ok) return false;
  const data = (r.body as { data?: { status?: unknown } } | null)?.data;
  return data?.status === 'healthy';
}
