// Deleting the VolumeSnapshots a backup took: when the backup is not kept (it failed after its
// volume phase). Best effort: what is left is found by the reconcile pass's leftover report.
import type { KubeClient } from '../kube/client.js';
import { SnapshotApi } from '../kube/snapshots.js';
import type { VolumeOutcome } from './volume-info.js';

export async function discardSnapshots(kube: KubeClient, outcomes: readonly VolumeOutcome[]): Promise<void> {
  const api = new SnapshotApi(kube);
  for (const x of outcomes) {
    if (!x.csi) continue;
    await api.deleteSnapshot(x.namespace, x.csi.volumeSnapshot).catch(() => undefined);
  }
}
