/**
 * Endpoint selection, pure: a service's endpoints are the pods of its namespace whose labels match its
 * selector, that are Running and have an IP — so endpoints follow pods as they come and go. A service
 * without a selector has none. Sorted by pod name for stable output.
 */

/** A pod as endpoint selection sees it. */
export interface EndpointPod {
  name: string;
  namespace: string;
  labels: Readonly<Record<string, string>>;
  phase: string;
  podIp: string | null;
  nodeName: string | null;
}

/** A selected endpoint. */
export interface SelectedEndpoint {
  ip: string;
  pod: string;
  node_name: string;
}

/** Whether labels satisfy an equality selector (every key/value present). An empty selector selects nothing. */
export function selectorMatches(
  selector: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
): boolean {
  const keys = Object.keys(selector);
  if (keys.length === 0) return false;
  return keys.every((k) => labels[k] === selector[k]);
}

/** The endpoints of a service in `namespace` with `selector`. */
export function selectEndpoints(
  namespace: string,
  selector: Readonly<Record<string, string>>,
  pods: readonly EndpointPod[],
): SelectedEndpoint[] {
  return pods
    .filter(
      (p) =>
        p.namespace === namespace &&
        p.phase === 'Running' &&
        p.podIp !== null &&
        p.nodeName !== null &&
        selectorMatches(selector, p.labels),
    )
    .map((p) => ({ ip: p.podIp as string, pod: p.name, node_name: p.nodeName as string }))
    .sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
}
