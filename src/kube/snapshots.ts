// Typed access to the CSI snapshot API (snapshot.storage.k8s.io/v1) and the storage objects a
// snapshot decision needs (PersistentVolumes, StorageClasses). Only src/kube talks to Kubernetes;
// src/volumes asks through these helpers.
import { KubeApiError, type KubeClient } from './client.js';
import type { KubeObject, ResourceInfo } from './types.js';

function info(
  group: string,
  resource: string,
  kind: string,
  scope: { namespaced: boolean; version?: string },
): ResourceInfo {
  const version = scope.version ?? 'v1';
  return {
    group,
    version,
    resource,
    kind,
    namespaced: scope.namespaced,
    verbs: ['get', 'list', 'create', 'delete', 'patch'],
    shortNames: [],
    singularName: kind.toLowerCase(),
    preferredVersion: version,
  };
}

const SNAPSHOT_GROUP = 'snapshot.storage.k8s.io';
export const VOLUME_SNAPSHOT = info(SNAPSHOT_GROUP, 'volumesnapshots', 'VolumeSnapshot', {
  namespaced: true,
});
export const VOLUME_SNAPSHOT_CONTENT = info(
  SNAPSHOT_GROUP,
  'volumesnapshotcontents',
  'VolumeSnapshotContent',
  {
    namespaced: false,
  },
);
export const VOLUME_SNAPSHOT_CLASS = info(SNAPSHOT_GROUP, 'volumesnapshotclasses', 'VolumeSnapshotClass', {
  namespaced: false,
});
export const PERSISTENT_VOLUME_CLAIM = info('', 'persistentvolumeclaims', 'PersistentVolumeClaim', {
  namespaced: true,
});
export const PERSISTENT_VOLUME = info('', 'persistentvolumes', 'PersistentVolume', { namespaced: false });
export const STORAGE_CLASS = info('storage.k8s.io', 'storageclasses', 'StorageClass', { namespaced: false });

export interface VolumeSnapshot extends KubeObject {
  spec: {
    source: { persistentVolumeClaimName?: string; volumeSnapshotContentName?: string };
    volumeSnapshotClassName?: string;
  };
  status?: {
    boundVolumeSnapshotContentName?: string;
    creationTime?: string;
    readyToUse?: boolean;
    restoreSize?: string;
    error?: { message?: string; time?: string };
  };
}

export interface VolumeSnapshotContent extends KubeObject {
  spec: {
    deletionPolicy: 'Delete' | 'Retain';
    driver: string;
    volumeSnapshotClassName?: string;
    volumeSnapshotRef: { namespace?: string; name?: string; uid?: string };
    source: { volumeHandle?: string; snapshotHandle?: string };
  };
  status?: {
    snapshotHandle?: string;
    creationTime?: number;
    readyToUse?: boolean;
    /** Bytes. */
    restoreSize?: number;
    error?: { message?: string; time?: string };
  };
}

export interface VolumeSnapshotClass extends KubeObject {
  driver: string;
  deletionPolicy: 'Delete' | 'Retain';
  parameters?: Record<string, string>;
}

export interface PersistentVolume extends KubeObject {
  spec: {
    csi?: { driver: string; volumeHandle: string };
    persistentVolumeReclaimPolicy?: string;
    claimRef?: { namespace?: string; name?: string; uid?: string };
  };
}

/** What src/volumes needs of the cluster's snapshot API, as one option object to pass around. */
export class SnapshotApi {
  constructor(private readonly kube: KubeClient) {}

  async persistentVolume(name: string): Promise<PersistentVolume | null> {
    return (await this.kube.get(PERSISTENT_VOLUME, '', name)) as PersistentVolume | null;
  }

  async storageClass(name: string): Promise<KubeObject | null> {
    return this.kube.get(STORAGE_CLASS, '', name);
  }

  /** Every VolumeSnapshotClass (a cluster has few). [] when the snapshot API is not installed. */
  async snapshotClasses(): Promise<VolumeSnapshotClass[]> {
    try {
      return (await this.listAll(VOLUME_SNAPSHOT_CLASS, {})) as VolumeSnapshotClass[];
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return [];
      throw err;
    }
  }

  async createSnapshot(vs: VolumeSnapshot): Promise<VolumeSnapshot> {
    return (await this.kube.create(VOLUME_SNAPSHOT, vs)) as VolumeSnapshot;
  }

  async snapshot(namespace: string, name: string): Promise<VolumeSnapshot | null> {
    return (await this.kube.get(VOLUME_SNAPSHOT, namespace, name)) as VolumeSnapshot | null;
  }

  async content(name: string): Promise<VolumeSnapshotContent | null> {
    return (await this.kube.get(VOLUME_SNAPSHOT_CONTENT, '', name)) as VolumeSnapshotContent | null;
  }

  async snapshotClass(name: string): Promise<VolumeSnapshotClass | null> {
    return (await this.kube.get(VOLUME_SNAPSHOT_CLASS, '', name)) as VolumeSnapshotClass | null;
  }

  /** VolumeSnapshots in every namespace that carry these labels (`k=v,…`). */
  async snapshotsLabelled(labelSelector: string): Promise<VolumeSnapshot[]> {
    try {
      return (await this.listAll(VOLUME_SNAPSHOT, { labelSelector })) as VolumeSnapshot[];
    } catch (err) {
      // No snapshot API installed: no snapshots.
      if (err instanceof KubeApiError && err.status === 404) return [];
      throw err;
    }
  }

  async contentsLabelled(labelSelector: string): Promise<VolumeSnapshotContent[]> {
    return (await this.listAll(VOLUME_SNAPSHOT_CONTENT, { labelSelector })) as VolumeSnapshotContent[];
  }

  async deleteSnapshot(namespace: string, name: string): Promise<void> {
    await this.kube.delete(VOLUME_SNAPSHOT, namespace, name);
  }

  async deleteContent(name: string): Promise<void> {
    await this.kube.delete(VOLUME_SNAPSHOT_CONTENT, '', name);
  }

  /**
   * Tie a content to a backup, as Velero's CSI action does once a snapshot is ready: labelled
   * with the backup, its policy switched to Retain so that deleting the VolumeSnapshot (or its
   * whole namespace, the disaster a backup is for) keeps the storage snapshot, and the policy
   * its class gave kept in an annotation, for when the backup itself is deleted.
   */
  async holdContentForBackup(
    name: string,
    o: { labels: Record<string, string>; annotations: Record<string, string> },
  ): Promise<void> {
    await this.kube.mergePatch(
      VOLUME_SNAPSHOT_CONTENT,
      { namespace: '', name },
      { metadata: { labels: o.labels, annotations: o.annotations }, spec: { deletionPolicy: 'Retain' } },
      { fieldManager: 'lifeboat' },
    );
  }

  /** Set a content's deletionPolicy (Retain keeps the storage snapshot when the object goes). */
  async setContentDeletionPolicy(name: string, policy: 'Delete' | 'Retain'): Promise<void> {
    await this.kube.mergePatch(
      VOLUME_SNAPSHOT_CONTENT,
      { namespace: '', name },
      { spec: { deletionPolicy: policy } },
      { fieldManager: 'lifeboat' },
    );
  }

  private async listAll(what: ResourceInfo, opts: { labelSelector?: string }): Promise<KubeObject[]> {
    const out: KubeObject[] = [];
    let continueToken: string | undefined;
    do {
      const page = await this.kube.list(what, {
        limit: 500,
        ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
        ...(continueToken ? { continueToken } : {}),
      });
      out.push(...page.items);
      continueToken = page.continueToken;
    } while (continueToken);
    return out;
  }
}
