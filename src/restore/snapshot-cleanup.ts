// The VolumeSnapshots and VolumeSnapshotContents a restore makes to restore claims from CSI
// snapshots (csi-restore.ts), from creation to deletion, one volume at a time:
//   - a VolumeSnapshot is created once its static content is readyToUse (or reports an error):
//     one created a moment after its content finds the snapshot controller not knowing that
//     content yet ("requests an non-existing content"), and the controller retries it only
//     after its back-off (1 s, doubling), which the volumes benchmark saw as seconds;
//   - a claim made from a snapshot that is not readyToUse yet fails its first provisioning and
//     waits out the provisioner's retry back-off (1 s, doubling), so each claim waits (bounded)
//     for its own snapshot and is created the moment that one is ready — not when the slowest
//     of them is: the provisioner then copies the first volumes while the snapshot controller
//     still readies the others, as in the driver's own restore of each volume;
//   - once every claim made from a snapshot is Bound, the provisioner has copied it into the
//     new volume, so both objects are deleted right away, while other claims still provision
//     (the content's deletionPolicy is Retain, so the backup's snapshot itself stays). A claim
//     not Bound in time keeps its snapshot objects (deleting them would strand it), and the
//     log says so.
// The waits share their looks (snapshot-waits.ts).
import type { KubeClient } from '../kube/client.js';
import type { KubeObject, ResourceInfo } from '../kube/types.js';
import type { RunLog } from '../observe/run-log.js';
import { VOLUME_SNAPSHOT_CONTENTS, VOLUME_SNAPSHOTS } from './csi-restore.js';
import type { PollDelay } from '../util/poll-delay.js';
import { isJsonMap } from './strategic-merge.js';
import { ObjectWaits, type WaitOutcome } from './snapshot-waits.js';

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

const isReady = (vs: KubeObject): boolean => isJsonMap(vs.status) && vs.status.readyToUse === true;
/** A content the csi-snapshotter has answered for: ready, or failed (then no wait helps). */
const isSettled = (vsc: KubeObject): boolean =>
  isJsonMap(vsc.status) && (vsc.status.readyToUse === true || vsc.status.error !== undefined);
const isBound = (pvc: KubeObject): boolean => isJsonMap(pvc.status) && pvc.status.phase === 'Bound';

interface Tracked {
  namespace: string;
  name: string;
  /** Settles when the snapshot is ready, gone, late or could not be looked at. */
  ready: Promise<void>;
}

/** One restore's snapshot objects, from their creation to their deletion. */
export class RestoredSnapshots {
  private readonly tracked = new Map<string, Tracked>();
  /** By `namespace/snapshot`: each claim made from it, and whether it was Bound (or gone) in time. */
  private readonly claimsOf = new Map<string, Promise<boolean>[]>();
  private readonly deletions: Promise<void>[] = [];
  /** Restored contents by name: settled once the csi-snapshotter answered, or late; and when made. */
  private readonly contents = new Map<string, { settled: Promise<void>; createdAt: number }>();
  private readonly contentWaits: ObjectWaits | undefined;
  private readonly snapshotWaits: ObjectWaits | undefined;
  private readonly claimWaits: ObjectWaits | undefined;

  constructor(
    private readonly o: {
      kube: KubeClient;
      resources: Map<string, ResourceInfo>;
      runLog: RunLog;
      /** How long a snapshot may take to be readyToUse before its claims are made anyway. */
      readyTimeoutMs: number;
      /** How long a claim may take to be Bound before its snapshot objects are kept. */
      bindTimeoutMs: number;
      /** The wait between two looks; pollDelay (util/poll-delay.ts) by default. */
      pollDelay?: PollDelay;
    },
  ) {
    const vsInfo = o.resources.get(VOLUME_SNAPSHOTS);
    const vscInfo = o.resources.get(VOLUME_SNAPSHOT_CONTENTS);
    const pvcInfo = o.resources.get('persistentvolumeclaims');
    const delay = o.pollDelay ? { pollDelay: o.pollDelay } : {};
    this.contentWaits =
      vscInfo && new ObjectWaits({ kube: o.kube, info: vscInfo, ready: isSettled, ...delay });
    this.snapshotWaits = vsInfo && new ObjectWaits({ kube: o.kube, info: vsInfo, ready: isReady, ...delay });
    this.claimWaits = pvcInfo && new ObjectWaits({ kube: o.kube, info: pvcInfo, ready: isBound, ...delay });
  }

  /** Before the restore creates `desired`: what it waits for (its content, its snapshot), if anything. */
  async beforeCreate(groupResource: string, desired: KubeObject): Promise<void> {
    if (groupResource === VOLUME_SNAPSHOTS) await this.beforeSnapshot(desired);
    else if (groupResource === 'persistentvolumeclaims') await this.beforeClaim(desired);
  }

  /** The restore created an object (`desired` as written, when read): tracked if it is one of ours. */
  created(
    item: { groupResource: string; namespace: string; name: string },
    desired: KubeObject | null | undefined,
  ): void {
    if (item.groupResource === VOLUME_SNAPSHOT_CONTENTS) this.contentCreated(item.name);
    else if (item.groupResource === VOLUME_SNAPSHOTS) this.snapshotCreated(item.namespace, item.name);
    const source =
      item.groupResource === 'persistentvolumeclaims' && desired ? snapshotSourceOf(desired) : undefined;
    if (source !== undefined)
      this.claimCreated({ namespace: item.namespace, name: item.name, snapshot: source });
  }

  /** The restore created this VolumeSnapshotContent: start waiting for the csi-snapshotter's answer. */
  contentCreated(name: string): void {
    const createdAt = Date.now();
    const settled = this.contentWaits
      ? this.contentWaits.wait('', name, createdAt + this.o.readyTimeoutMs).then(
          () => undefined,
          () => undefined,
        )
      : Promise.resolve();
    this.contents.set(name, { settled, createdAt });
  }

  /**
   * Before a VolumeSnapshot is created: wait until the content it is bound to, if the restore
   * created it, has been answered for. A content late or unreadable is waited for no longer
   * than the snapshot itself would be, from the content's creation.
   */
  async beforeSnapshot(vs: KubeObject): Promise<void> {
    const source = isJsonMap(vs.spec) && isJsonMap(vs.spec.source) ? vs.spec.source : {};
    const content =
      typeof source.volumeSnapshotContentName === 'string' ? source.volumeSnapshotContentName : '';
    await this.contents.get(content)?.settled;
  }

  /** The restore created this VolumeSnapshot: start waiting for it to be ready. */
  snapshotCreated(namespace: string, name: string): void {
    const ref = `${namespace}/${name}`;
    // One bound per volume: the time its content has already taken counts.
    const since = this.contents.get(name)?.createdAt ?? Date.now();
    const ready = this.snapshotWaits
      ? this.snapshotWaits.wait(namespace, name, since + this.o.readyTimeoutMs).then(
          (outcome) => {
            if (outcome.state === 'timeout') {
              this.o.runLog.add(
                'warning',
                'restored VolumeSnapshot not ready in time: its claim is made anyway',
                {
                  volumeSnapshot: ref,
                },
              );
            }
          },
          (err: unknown) => {
            this.o.runLog.add(
              'warning',
              'could not look at a restored VolumeSnapshot: its claim is made anyway',
              {
                volumeSnapshot: ref,
                error: errorText(err),
              },
            );
          },
        )
      : Promise.resolve();
    this.tracked.set(ref, { namespace, name, ready });
  }

  /**
   * Before a claim is created: wait until the snapshot it is made from is ready, if the restore
   * created that snapshot (else nothing to wait for).
   */
  async beforeClaim(claim: KubeObject): Promise<void> {
    const source = snapshotSourceOf(claim);
    if (source === undefined) return;
    await this.tracked.get(`${claim.metadata.namespace ?? ''}/${source}`)?.ready;
  }

  /** The restore created this claim from a snapshot: start waiting for it to be Bound. */
  claimCreated(claim: CreatedClaim): void {
    const key = `${claim.namespace}/${claim.name}`;
    const keep = (message: string, fields: Record<string, unknown> = {}): boolean => {
      this.o.runLog.add('warning', message, {
        claim: key,
        volumeSnapshot: `${claim.namespace}/${claim.snapshot}`,
        ...fields,
      });
      return false;
    };
    const bound = this.claimWaits
      ? this.claimWaits.wait(claim.namespace, claim.name, Date.now() + this.o.bindTimeoutMs).then(
          (outcome: WaitOutcome) =>
            outcome.state !== 'timeout' ||
            keep('claim not Bound in time: its restored VolumeSnapshot is kept'),
          (err: unknown) =>
            keep('could not look at a restored claim: its restored VolumeSnapshot is kept', {
              error: errorText(err),
            }),
        )
      : Promise.resolve(false);
    const ref = `${claim.namespace}/${claim.snapshot}`;
    this.claimsOf.set(ref, [...(this.claimsOf.get(ref) ?? []), bound]);
  }

  /**
   * The claims' tier is done: every claim made from the snapshots created so far exists, so
   * each of those snapshots is deleted as soon as all its claims are Bound (one whose claims
   * all failed to be created, at once).
   */
  claimsPlaced(): void {
    for (const [ref, snapshot] of this.tracked) {
      this.tracked.delete(ref);
      this.deletions.push(
        Promise.all(this.claimsOf.get(ref) ?? []).then(async (bound) => {
          if (bound.every((b) => b)) await this.delete(snapshot);
        }),
      );
    }
  }

  /** Waits until every snapshot is deleted or kept. */
  async finish(): Promise<void> {
    this.claimsPlaced();
    await Promise.all(this.deletions);
  }

  private async delete(vs: { namespace: string; name: string }): Promise<void> {
    const vsInfo = this.o.resources.get(VOLUME_SNAPSHOTS);
    const vscInfo = this.o.resources.get(VOLUME_SNAPSHOT_CONTENTS);
    const ref = `${vs.namespace}/${vs.name}`;
    if (!vsInfo || !vscInfo) return;
    try {
      await this.o.kube.delete(vsInfo, vs.namespace, vs.name);
      await this.o.kube.delete(vscInfo, '', vs.name);
      this.o.runLog.add(
        'info',
        'deleted the restore’s temporary VolumeSnapshot and its content (Retain: the snapshot stays)',
        { volumeSnapshot: ref },
      );
    } catch (err) {
      this.o.runLog.add('warning', 'could not delete a temporary VolumeSnapshot', {
        volumeSnapshot: ref,
        error: errorText(err),
      });
    }
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
