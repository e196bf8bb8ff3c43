// Restore spec `namespaceMapping` (source namespace → target namespace), applied to each
// object the way Velero applies it:
//   - namespaced objects move to the mapped namespace (pkg/restore/restore.go,
//     getOrderedResourceCollection: `targetNamespace`);
//   - a Namespace object takes the mapped name (restore.go getNamespace(…, remappedName));
//   - RoleBinding and ClusterRoleBinding subjects whose namespace is mapped follow it
//     (pkg/restore/actions/rolebinding_action.go, clusterrolebinding_action.go: every subject
//     with a namespace, which in practice means ServiceAccount subjects);
//   - a PersistentVolume's claimRef.namespace follows its claim (restore.go remapClaimRefNS).
import type { KubeObject } from '../kube/types.js';

export type NamespaceMapping = Record<string, string>;

/** Namespaces the cluster owns: restoring into them is allowed, but worth a second look. */
export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

export function systemNamespaceWarning(namespace: string): string {
  return `restores into the system namespace "${namespace}": objects there can change how the whole cluster runs`;
}

export function mapNamespace(namespace: string, mapping: NamespaceMapping | undefined): string {
  return (
    (mapping !== undefined && Object.hasOwn(mapping, namespace) ? mapping[namespace] : undefined) ?? namespace
  );
}

const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
const BINDINGS = new Set([
  'rolebindings.rbac.authorization.k8s.io',
  'clusterrolebindings.rbac.authorization.k8s.io',
]);

/** A copy of `obj` with the mapping applied; `obj` itself is not changed. */
export function applyNamespaceMapping(
  obj: KubeObject,
  groupResource: string,
  mapping: NamespaceMapping | undefined,
): KubeObject {
  return mapNamespacesInPlace(structuredClone(obj), groupResource, mapping);
}

/**
 * applyNamespaceMapping on an object the caller owns (changed and returned): planning's objects
 * are already sanitizing's deep copies, and a second copy of each was a few percent of a plan.
 */
export function mapNamespacesInPlace(
  out: KubeObject,
  groupResource: string,
  mapping: NamespaceMapping | undefined,
): KubeObject {
  if (mapping === undefined || Object.keys(mapping).length === 0) return out;
  if (out.metadata.namespace) out.metadata.namespace = mapNamespace(out.metadata.namespace, mapping);
  if (groupResource === 'namespaces' && out.metadata.name) {
    out.metadata.name = mapNamespace(out.metadata.name, mapping);
    // The apiserver sets this label to the namespace's name on every write; a stale value
    // would only make every later plan show a difference.
    if (out.metadata.labels?.[NAMESPACE_NAME_LABEL] !== undefined) {
      out.metadata.labels[NAMESPACE_NAME_LABEL] = out.metadata.name;
    }
  }
  if (BINDINGS.has(groupResource) && Array.isArray(out.subjects)) {
    for (const subject of out.subjects as { namespace?: unknown }[]) {
      if (typeof subject?.namespace === 'string' && subject.namespace !== '') {
        subject.namespace = mapNamespace(subject.namespace, mapping);
      }
    }
  }
  if (groupResource === 'persistentvolumes') {
    const claimRef = (out.spec as { claimRef?: { namespace?: unknown } } | undefined)?.claimRef;
    if (claimRef && typeof claimRef.namespace === 'string') {
      claimRef.namespace = mapNamespace(claimRef.namespace, mapping);
    }
  }
  return out;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Problems with a mapping, as `namespaceMapping.<source>: message` lines: both sides must be
 * namespace names (DNS-1123 labels, at most 63 characters). Two sources may share a target
 * (Velero allows merging namespaces); objects with the same name then meet in the plan.
 */
export function validateNamespaceMapping(mapping: NamespaceMapping | undefined): string[] {
  const errors: string[] = [];
  for (const [source, target] of Object.entries(mapping ?? {})) {
    const at = `namespaceMapping.${source}`;
    if (!isNamespaceName(source))
      errors.push(`${at}: ${JSON.stringify(source)} is not a valid namespace name`);
    if (typeof target !== 'string' || !isNamespaceName(target)) {
      errors.push(`${at}: target ${JSON.stringify(target)} is not a valid namespace name`);
    }
  }
  return errors;
}

function isNamespaceName(name: string): boolean {
  return name.length <= 63 && DNS1123_LABEL.test(name);
}
