// Objects a GitOps controller tracks. Restored with their Argo CD or Flux tracking labels and
// annotations, they belong to that controller again at once: it may prune them (they are not in
// its source any more) or overwrite them with what its source says, undoing the restore. The
// plan flags them; `gitopsTracking: Strip` removes the marks so the restored objects stand alone.
import type { KubeObject } from '../kube/types.js';

export type GitopsTrackingPolicy = 'Keep' | 'Strip';

const ARGO_INSTANCE_LABEL = 'argocd.argoproj.io/instance';
const ARGO_TRACKING_ANNOTATION = 'argocd.argoproj.io/tracking-id';
/** Argo CD's annotation+label tracking also writes this label, with the tracking annotation. */
const APP_INSTANCE_LABEL = 'app.kubernetes.io/instance';
const FLUX_PREFIXES = ['kustomize.toolkit.fluxcd.io/', 'helm.toolkit.fluxcd.io/'];

export interface GitopsTracking {
  /** Who tracks it, for the reviewer: `Argo CD application shop`, `Flux Kustomization flux-system/apps`. */
  owners: string[];
  /** The marks found, `label k=v` / `annotation k`. */
  marks: string[];
  /** The label and annotation keys Strip removes. */
  stripLabels: string[];
  stripAnnotations: string[];
}

/** The object's GitOps tracking marks, or undefined when it has none. */
export function gitopsTrackingOf(obj: KubeObject): GitopsTracking | undefined {
  const labels = obj.metadata.labels ?? {};
  const annotations = obj.metadata.annotations ?? {};
  const owners: string[] = [];
  const marks: string[] = [];
  const stripLabels: string[] = [];
  const stripAnnotations: string[] = [];

  const argoApp = labels[ARGO_INSTANCE_LABEL];
  if (argoApp !== undefined) {
    owners.push(`Argo CD application ${argoApp}`);
    marks.push(`label ${ARGO_INSTANCE_LABEL}=${argoApp}`);
    stripLabels.push(ARGO_INSTANCE_LABEL);
  }
  const trackingId = annotations[ARGO_TRACKING_ANNOTATION];
  if (trackingId !== undefined) {
    // <app>:<group>/<kind>:<namespace>/<name>; the app may be <namespace>_<app>.
    const app = trackingId.split(':')[0] ?? trackingId;
    if (argoApp !== app) owners.push(`Argo CD application ${app}`);
    marks.push(`annotation ${ARGO_TRACKING_ANNOTATION}`);
    stripAnnotations.push(ARGO_TRACKING_ANNOTATION);
    // Flagged, not stripped: the label is also the recommended application label that
    // selectors and dashboards use, and without the annotation Argo CD no longer tracks it.
    if (labels[APP_INSTANCE_LABEL] !== undefined)
      marks.push(`label ${APP_INSTANCE_LABEL}=${labels[APP_INSTANCE_LABEL]} (kept)`);
  }

  for (const [kind, prefix] of [
    ['Kustomization', FLUX_PREFIXES[0]],
    ['HelmRelease', FLUX_PREFIXES[1]],
  ] as const) {
    const name = labels[`${prefix}name`];
    if (name !== undefined) {
      const ns = labels[`${prefix}namespace`];
      owners.push(`Flux ${kind} ${ns ? `${ns}/` : ''}${name}`);
    }
    for (const key of Object.keys(labels)
      .filter((k) => k.startsWith(prefix ?? ''))
      .sort()) {
      marks.push(`label ${key}=${labels[key]}`);
      stripLabels.push(key);
    }
    for (const key of Object.keys(annotations)
      .filter((k) => k.startsWith(prefix ?? ''))
      .sort()) {
      marks.push(`annotation ${key}`);
      stripAnnotations.push(key);
    }
  }
  if (marks.length === 0) return undefined;
  if (owners.length === 0) owners.push('Flux');
  return { owners, marks, stripLabels, stripAnnotations };
}

/** The object without the tracking marks Strip removes (a copy; `obj` is left as it is). */
export function stripGitopsTracking(obj: KubeObject, tracking: GitopsTracking): KubeObject {
  const metadata = { ...obj.metadata };
  const drop = (from: Record<string, string> | undefined, keys: string[]) => {
    if (!from) return undefined;
    const kept = Object.fromEntries(Object.entries(from).filter(([k]) => !keys.includes(k)));
    return Object.keys(kept).length > 0 ? kept : undefined;
  };
  const labels = drop(metadata.labels, tracking.stripLabels);
  const annotations = drop(metadata.annotations, tracking.stripAnnotations);
  if (labels) metadata.labels = labels;
  else delete metadata.labels;
  if (annotations) metadata.annotations = annotations;
  else delete metadata.annotations;
  return { ...obj, metadata };
}

/** What the plan says about a tracked object: a warning when kept, a note when stripped. */
export function trackingMessage(
  tracking: GitopsTracking,
  policy: GitopsTrackingPolicy,
): { warning?: string; note?: string } {
  const who = tracking.owners.join(' and ');
  if (policy === 'Strip')
    return {
      note: `GitOps tracking removed (gitopsTracking: Strip): ${tracking.marks.filter((m) => !m.endsWith('(kept)')).join(', ')}; ${who} will not manage the restored object`,
    };
  return {
    warning: `tracked by ${who} (${tracking.marks.join(', ')}): it may prune or overwrite the restored object; restore with gitopsTracking: Strip to detach it, or restore its source in Git`,
  };
}
