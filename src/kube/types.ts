// Shapes of Kubernetes data as lifeboat sees it: untyped objects (we back up every
// kind, including custom resources) plus the discovery facts we need about each resource.

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: {
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
  }[];
  finalizers?: string[];
  managedFields?: unknown[];
  selfLink?: string;
  [key: string]: unknown;
}

/** Any Kubernetes object, as JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** One API resource at one group/version, as discovery reports it. */
export interface ResourceInfo {
  group: string; // '' for the core group
  version: string;
  resource: string; // plural, e.g. 'deployments'
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames: string[];
  singularName: string;
  /** The group's preferred version (the one we list at). */
  preferredVersion: string;
  /** Served by an aggregated API server: cannot be listed at one of our etcd revisions. */
  aggregated?: boolean;
}

/** `resource.group` as Velero prints a GroupResource (`pods` for the core group). */
export function groupResource(info: { group: string; resource: string }): string {
  return info.group === '' ? info.resource : `${info.resource}.${info.group}`;
}

export function apiVersionOf(info: { group: string; version: string }): string {
  return info.group === '' ? info.version : `${info.group}/${info.version}`;
}
