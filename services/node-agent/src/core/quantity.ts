/** Resource quantities as the node reports them (Kubernetes notation). Pure. */

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** `"500m"` → 500, `"2"` → 2000; null when not a CPU quantity. */
export function parseCpu(q: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(q);
  if (m === null) return null;
  const n = Number(m[1]);
  return Math.round(m[2] === 'm' ? n : n * 1000);
}

/** `"128Mi"` → 134217728; null when not a memory quantity. */
export function parseMemory(q: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  if (m === null) return null;
  const unit = m[2];
  const mult = unit === undefined ? 1 : (BINARY[unit] ?? DECIMAL[unit] ?? 1);
  return Math.floor(Number(m[1]) * mult);
}

/** Millicores → `"8"`, `"7.5"`, `"250m"`. */
export function formatCpu(milli: number): string {
  if (milli % 1000 === 0) return String(milli / 1000);
  if (milli % 100 === 0) return (milli / 1000).toFixed(1);
  return `${milli}m`;
}

/** Bytes → `"16Gi"`, `"7.5Gi"`, `"512Mi"` (one decimal at most, rounded down so it never overstates). */
export function formatMemory(bytes: number): string {
  for (const unit of ['Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const v = bytes / (BINARY[unit] ?? 1);
    if (v >= 1) {
      const r = Math.floor(v * 10) / 10;
      return `${Number.isInteger(r) ? r.toFixed(0) : r.toFixed(1)}${unit}`;
    }
  }
  return String(bytes);
}

/**
 * What the node offers pods: capacity minus a system reservation (CPU: 100m per core up to 1 core,
 * memory: 5% with at least 256Mi), as kubelet's system-reserved does.
 */
export function allocatable(cpus: number, memoryBytes: number): { cpuMilli: number; memoryBytes: number } {
  const cpuMilli = Math.max(0, cpus * 1000 - Math.min(1000, cpus * 100));
  const reserve = Math.max(256 * 2 ** 20, Math.floor(memoryBytes * 0.05));
  return { cpuMilli, memoryBytes: Math.max(0, memoryBytes - reserve) };
}
