// Objects that send requests to a Service: admission webhooks and aggregated APIs
// (APIService). Restored while their Service is absent or has no ready endpoints, a webhook
// with failurePolicy Fail refuses every request it matches (seen: every Namespace blocked), and
// an APIService leaves its group unavailable, which stalls namespace deletion cluster-wide. The
// plan warns about each (issue 18); the pure half is here, the cluster is read by prepare.ts.
import type { KubeObject } from '../kube/types.js';
import { isJsonMap } from './strategic-merge.js';

export interface BackendRef {
  /** What calls the Service, as a plan shows it: `webhook x.example.com`. */
  caller: string;
  namespace: string;
  name: string;
  kind: 'webhook' | 'apiservice';
  /** Webhooks only: Fail (the default of admissionregistration/v1) or Ignore. */
  failurePolicy?: string;
}

/** What a restore leaves behind for a Service that something calls. */
export type BackendState = 'restored' | 'ready' | 'no-ready-endpoints' | 'missing';

const WEBHOOK_CONFIGURATIONS = new Set([
  'validatingwebhookconfigurations.admissionregistration.k8s.io',
  'mutatingwebhookconfigurations.admissionregistration.k8s.io',
]);
export const API_SERVICES = 'apiservices.apiregistration.k8s.io';

/** The Services an object calls; none for a webhook with a URL or an APIService served locally. */
export function backendsOf(groupResource: string, obj: KubeObject): BackendRef[] {
  if (WEBHOOK_CONFIGURATIONS.has(groupResource)) {
    const webhooks = Array.isArray(obj.webhooks) ? (obj.webhooks as unknown[]) : [];
    return webhooks.flatMap((w): BackendRef[] => {
      if (!isJsonMap(w) || !isJsonMap(w.clientConfig)) return [];
      const service = serviceOf(w.clientConfig.service);
      if (!service) return [];
      const failurePolicy = typeof w.failurePolicy === 'string' ? w.failurePolicy : 'Fail';
      return [{ caller: `webhook ${String(w.name)}`, kind: 'webhook', failurePolicy, ...service }];
    });
  }
  if (groupResource === API_SERVICES && isJsonMap(obj.spec)) {
    const service = serviceOf(obj.spec.service);
    if (!service) return [];
    const text = (v: unknown) => (typeof v === 'string' ? v : '');
    const gv = `${text(obj.spec.group)}/${text(obj.spec.version)}`;
    return [{ caller: `aggregated API ${gv}`, kind: 'apiservice', ...service }];
  }
  return [];
}

function serviceOf(service: unknown): { namespace: string; name: string } | undefined {
  if (!isJsonMap(service) || typeof service.name !== 'string') return undefined;
  return { namespace: typeof service.namespace === 'string' ? service.namespace : '', name: service.name };
}

/** The plan's warning for a backend in `state`; none when the restore brings it or it is ready. */
export function backendWarning(ref: BackendRef, state: BackendState): string | undefined {
  if (state === 'restored' || state === 'ready') return undefined;
  const where =
    state === 'missing'
      ? `Service ${ref.namespace}/${ref.name}, which neither this restore nor the cluster has`
      : `Service ${ref.namespace}/${ref.name}, which this restore does not bring and which has no ready endpoints`;
  if (ref.kind === 'apiservice') {
    return `${ref.caller} is served by ${where}: the API stays unavailable, and while it is, namespace deletion stalls in the whole cluster and backups cannot list the group`;
  }
  const effect =
    ref.failurePolicy === 'Ignore'
      ? 'requests it matches are admitted without the check (failurePolicy Ignore)'
      : 'every request it matches is refused (failurePolicy Fail)';
  return `${ref.caller} calls ${where}: until it is ready, ${effect}`;
}

/** Whether an EndpointSlice has an endpoint that may receive traffic (ready unset counts as ready). */
export function hasReadyEndpoint(slices: KubeObject[]): boolean {
  return slices.some((slice) =>
    (Array.isArray(slice.endpoints) ? (slice.endpoints as unknown[]) : []).some(
      (e) => isJsonMap(e) && !(isJsonMap(e.conditions) && e.conditions.ready === false),
    ),
  );
}
