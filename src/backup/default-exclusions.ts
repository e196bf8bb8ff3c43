// What is left out without anyone asking, and why — in one place.
//
// Backup: Velero has NO default resource exclusions. It backs up events and nodes like anything
// else and only refuses to restore them; its maintainers chose to "err on the side of backing up
// more" (vmware-tanzu/velero issues #367 and #2316). lifeboat does the same so its archives hold
// what a Velero archive of the same spec would hold. What a backup does skip by default is per
// object, not per resource:
//   - objects labelled `velero.io/exclude-from-backup=true` (pkg/backup/item_backupper.go), and
//     namespaces carrying that label are treated as if listed in excludedNamespaces
//     (pkg/controller/backup_controller.go prepareBackupRequest);
//   - objects already being deleted (a deletionTimestamp is set; item_backupper.go).
// filters.ts applies both.
//
// Restore: Velero never restores the resources below, whatever the spec says
// (pkg/controller/restore_controller.go `nonRestorableResources`); it adds them to the restore's
// excludedResources and rejects a restore that names one in includedResources. lifeboat adds
// (marked `lifeboat:` below) the resources of Kubernetes v1.34 that are records of what the
// cluster itself allocated or observed, so that a restore does not create them again with the
// old cluster's values (issue 18). Reviewed against v1.34 and restored as usual: everything a
// person or an operator declares — including ServiceCIDRs other than the default, Leases other
// than the control plane's (sanitize.ts skips those object by object), CSIDrivers,
// VolumeAttributesClasses, DeviceClasses, ResourceClaims and their templates. Resources that
// cannot be listed or created (bindings, reviews, componentstatuses) never reach an archive.
import type { KubeObject } from '../kube/types.js';

export interface ResourceExclusion {
  /** Canonical `resource.group` (`events` for the core group). */
  groupResource: string;
  reason: string;
}

/** The label that keeps an object (or a whole namespace) out of a backup. */
export const EXCLUDE_FROM_BACKUP_LABEL = 'velero.io/exclude-from-backup';

export const NON_RESTORABLE_RESOURCES: readonly ResourceExclusion[] = [
  {
    groupResource: 'nodes',
    reason: 'nodes belong to the cluster that registered them; they are never re-created',
  },
  {
    groupResource: 'events',
    reason: 'events describe what happened in the source cluster and are ephemeral (velero#367)',
  },
  {
    groupResource: 'events.events.k8s.io',
    reason: 'the same events as `events`, served by the events.k8s.io group',
  },
  {
    groupResource: 'backups.velero.io',
    reason: 'backups are synced from object storage, never restored as objects (velero#622)',
  },
  {
    groupResource: 'restores.velero.io',
    reason: 'restores are records of the cluster they ran in and mean nothing elsewhere (velero#622)',
  },
  {
    groupResource: 'resticrepositories.velero.io',
    reason: 'repositories are managed by Velero and re-created when needed (velero#1113)',
  },
  {
    groupResource: 'csinodes.storage.k8s.io',
    reason:
      'CSINode objects are per-node CSI registrations; restoring them breaks volume mounts (velero#4823)',
  },
  {
    groupResource: 'volumeattachments.storage.k8s.io',
    reason:
      'VolumeAttachments record which node a volume is attached to; restoring them breaks mounts (velero#4823)',
  },
  {
    groupResource: 'backuprepositories.velero.io',
    reason: 'backup repositories (renamed from restic repositories) are managed by Velero',
  },
  // lifeboat: allocation records and observations of the cluster.
  {
    groupResource: 'ipaddresses.networking.k8s.io',
    reason:
      "the apiserver allocates one IPAddress per Service cluster IP; a restored one holds the old cluster's address, which the repair loop removes or which blocks the Service given that address",
  },
  {
    groupResource: 'csistoragecapacities.storage.k8s.io',
    reason:
      'CSI drivers publish them from the capacity they report now, per storage class and topology segment',
  },
  {
    groupResource: 'resourceslices.resource.k8s.io',
    reason: "DRA drivers publish them for each node's devices; the old cluster's devices are not there",
  },
  // lifeboat: the node agent's work items. The archive keeps the PodVolumeBackups as the record
  // of each file-system copy; created again, an agent would take one as new work.
  {
    groupResource: 'podvolumebackups.lifeboat.dev',
    reason:
      "records of the node agent's file-system copies; re-created, the agent would copy the volume again",
  },
  {
    groupResource: 'podvolumerestores.lifeboat.dev',
    reason: "the node agent's restore work items; a restore makes its own",
  },
];

const NON_RESTORABLE = new Map(NON_RESTORABLE_RESOURCES.map((entry) => [entry.groupResource, entry]));

/** Why `groupResource` is never restored, or undefined when it can be restored. */
export function nonRestorableReason(groupResource: string): string | undefined {
  return NON_RESTORABLE.get(groupResource)?.reason;
}

export function isRestorable(groupResource: string): boolean {
  return !NON_RESTORABLE.has(groupResource);
}

/** Whether the object carries `velero.io/exclude-from-backup=true`. */
export function hasExcludeLabel(obj: Pick<KubeObject, 'metadata'>): boolean {
  return obj.metadata.labels?.[EXCLUDE_FROM_BACKUP_LABEL] === 'true';
}

/**
 * Names of the namespaces labelled `velero.io/exclude-from-backup=true`: Velero appends them to
 * the backup's excludedNamespaces before filtering (backup_controller.go prepareBackupRequest).
 */
export function namespacesExcludedByLabel(namespaces: Iterable<Pick<KubeObject, 'metadata'>>): string[] {
  const names: string[] = [];
  for (const ns of namespaces) {
    if (hasExcludeLabel(ns) && ns.metadata.name) names.push(ns.metadata.name);
  }
  return names.sort();
}
