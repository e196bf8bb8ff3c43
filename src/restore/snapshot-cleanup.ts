// After a restore: the VolumeSnapshots and VolumeSnapshotContents it made to restore claims
// from CSI snapshots (csi-restore.ts) are temporary. Once every claim made from one is Bound,
// the provisioner has copied the snapshot into the new volume, so both are deleted — the
// content's deletionPolicy is Retain, so the backup's snapshot itself stays. A claim that is
// not Bound in time keeps its snapshot objects (deleting them would strand it), and the log
// says so.
import type { KubeClient } from '../kube/client.js';
import type { KubeObject, ResourceInfo } from '../kube/types.js';
import type { RunLog } from '../observe/run-log.js';
import { VOLUME_SNAPSHOT_CONTENTS, VOLUME_SNAPSHOTS } from './csi-restore.js';
import { pollPause, type PollDelay } from '../util/poll-delay.js';
import { isJsonMap } from './strategic-merge.js';

export interface CreatedClaim {
  namespace: string;
  name: string;
  /** The restored VolumeSnapshot it is made from (in its namespace). */
  snapshot: string;
}

/** The VolumeSnapshot a restored claim is made from, if any. */
export function snapshotSourceOf(claim: KubeObject): string | undefined {
  const ds = isJsonMap(claim.spec) ? claim.spec.dataSource : undefined;
  if (!isJsonMap(ds) || ds.kind !== 'VolumeSnapshot' || ds.apiGroup !== 'snapshot.storage.k8s.io')
    return undefined;
  return typeof ds.name === 'string' ? ds.name : undefined;
}

export async function cleanUpRestoredSnapshots(o: {
  kube: KubeClient;
  resources: Map<string, ResourceInfo>;
  /** VolumeSnapshots the restore created: namespace and name (the content has the same name). */
  snapshots: { namespace: string; name: string }[];
  /** Claims the restore created from them. */
  claims: CreatedClaim[];
  runLog: RunLog;
  timeoutMs: number;
  /** The wait between two looks at a claim; pollDelay (util/poll-delay.ts) by default. */
  pollDelay?: PollDelay;
}): Promise<void> {
  const vsInfo = o.resources.get(VOLUME_SNAPSHOTS);
  const vscInfo = o.resources.get(VOLUME_SNAPSHOT_CONTENTS);
  const pvcInfo = o.resources.get('persistentvolumeclaims');
  if (!vsInfo || !vscInfo || !pvcInfo || o.snapshots.length === 0) return;
  const startedAt = Date.now();
  const deadline = startedAt + o.timeoutMs;
  const unbound = new Set<string>();
  for (const claim of o.claims) {
    const key = `${claim.namespace}/${claim.name}`;
    for (;;) {
      const live = await o.kube.get(pvcInfo, claim.namespace, claim.name);
      const phase = isJsonMap(live?.status) ? live.status.phase : undefined;
      if (phase === 'Bound' || live === null) break;
      if (Date.now() > deadline) {
        unbound.add(`${claim.namespace}/${claim.snapshot}`);
        o.runLog.add('warning', 'claim not Bound in time: its restored VolumeSnapshot is kept', {
          claim: key,
          volumeSnapshot: `${claim.namespace}/${claim.snapshot}`,
        });
        break;
      }
      await pollPause(startedAt, { deadline, ...(o.pollDelay ? { delay: o.pollDelay } : {}) });
    }
  }
  for (const vs of o.snapshots) {
    if (unbound.has(`${vs.namespace}/${vs.name}`)) continue;
    try {
      await o.kube.delete(vsInfo, vs.namespace, vs.name);
      await o.kube.delete(vscInfo, '', vs.name);
      o.runLog.add(
        'info',
        'deleted the restore’s temporary VolumeSnapshot and its content (Retain: the snapshot stays)',
        {
          volumeSnapshot: `${vs.namespace}/${vs.name}`,
        },
      );
    } catch (err) {
      o.runLog.add('warning', 'could not delete a temporary VolumeSnapshot', {
        volumeSnapshot: `${vs.namespace}/${vs.name}`,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
}

/**
 * Before the claims' tier: wait (bounded) until the VolumeSnapshots the restore just made are
 * readyToUse. A claim made from a snapshot that is not ready yet fails its first provisioning
 * and waits out the provisioner's retry back-off (1 s, doubling); the volumes benchmark saw the
 * restore take half again as long as the driver's own. Not ready in time: the claims are made
 * anyway (the provisioner keeps trying) and the log says which snapshot was late.
 */
export async function waitRestoredSnapshotsReady(o: {
  kube: KubeClient;
  resources: Map<string, ResourceInfo>;
  snapshots: { namespace: string; name: string }[];
  runLog: RunLog;
  timeoutMs: number;
  pollDelay?: PollDelay;
}): Promise<void> {
  const vsInfo = o.resources.get(VOLUME_SNAPSHOTS);
  if (!vsInfo || o.snapshots.length === 0) return;
  const startedAt = Date.now();
  const deadline = startedAt + o.timeoutMs;
  for (const vs of o.snapshots) {
    for (;;) {
      const live = await o.kube.get(vsInfo, vs.namespace, vs.name);
      if (live === null || (isJsonMap(live.status) && live.status.readyToUse === true)) break;
      if (Date.now() > deadline) {
        o.runLog.add('warning', 'restored VolumeSnapshot not ready in time: its claim is made anyway', {
          volumeSnapshot: `${vs.namespace}/${vs.name}`,
        });
        return;
      }
      await pollPause(startedAt, { deadline, ...(o.pollDelay ? { delay: o.pollDelay } : {}) });
    }
  }
}
