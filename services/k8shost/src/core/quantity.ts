/** Kubernetes resource quantities: CPU in millicores, memory in bytes. Pure. */

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** `"500m"` → 500, `"2"` → 2000, `"0.5"` → 500; null when not a CPU quantity. */
export function parseCpu(q: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(q);
  if (m === null) return null;
  const n = Number(m[1]);
  const milli = m[2] === 'm' ? n : n * 1000;
  return Number.isFinite(milli) ? Math.round(milli) : null;
}

/** `"128Mi"` → 134217728, `"1G"` → 1e9, `"1000"` → 1000; null when not a memory quantity. */
export function parseMemory(q: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  if (m === null) return null;
  const unit = m[2];
  const mult = unit === undefined ? 1 : (BINARY[unit] ?? DECIMAL[unit] ?? 1);
  const v = Number(m[1]) * mult;
  return Number.isFinite(v) ? Math.floor(v) : null;
}

/** Millicores → `"8"`, `"7.5"`, `"250m"`. */
export function formatCpu(milli: number): string {
  if (milli % 1000 === 0) return String(milli / 1000);
  if (milli % 100 === 0) return (milli / 1000).toFixed(1);
  return `${milli}m`;
}

/** Bytes → the largest binary unit that keeps one decimal or less: `"16Gi"`, `"7.5Gi"`, `"512Mi"`. */
export function formatMemory(bytes: number): string {
  for (const unit of ['Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const v = bytes / (BINARY[unit] ?? 1);
    if (v >= 1) {
      const r = Math.round(v * 10) / 10;
      return `${Number.isInteger(r) ? r.toFixed(0) : r.toFixed(1)}${unit}`;
    }
  }
  return String(bytes);
}
