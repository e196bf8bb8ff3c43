// The CSI capturer: one VolumeSnapshot per claim bound to a CSI volume, as Velero's CSI PVC
// backup action takes it (pkg/backup/actions/csi/pvc_action.go): the claim's labels plus
// velero.io/backup-name on the snapshot, the class chosen in Velero's order, then wait until
// the snapshot is readyToUse or the backup's csiSnapshotTimeout ends. A snapshot that does not
// become ready is deleted again (Velero's CleanupVolumeSnapshot), so a failed backup leaks none.
import { createHash } from 'node:crypto';
import type { SnapshotApi, VolumeSnapshot, VolumeSnapshotClass } from '../kube/snapshots.js';
import type { ClaimRecord } from './collect.js';
import { pollPause, type PollDelay } from '../util/poll-delay.js';
import { chooseSnapshotClass } from './snapshot-class.js';
import type { VolumeOutcome } from './volume-info.js';

/** Velero's label on every object a backup creates in the cluster. */
export const BACKUP_NAME_LABEL = 'velero.io/backup-name';
/** The deletionPolicy the content had from its class, before the backup switched it to Retain. */
export const ORIGINAL_DELETION_POLICY = 'lifeboat.dev/original-deletion-policy';
/** Velero's label on a claim's snapshot content, naming its VolumeSnapshot. */
export const VOLUME_SNAPSHOT_LABEL = 'velero.io/volume-snapshot-name';

/**
 * A name as a label value, as Velero's label.GetValidName makes it: names over 63 characters
 * become their first 57 and 6 hex digits of their sha256, so long backup names still match.
 */
export function labelValue(name: string): string {
  if (name.length <= 63) return name;
  return name.slice(0, 57) + createHash('sha256').update(name).digest('hex').slice(0, 6);
}

export interface CsiCapturerOptions {
  api: SnapshotApi;
  backupName: string;
  /** false: no snapshots; undefined: snapshot claims whose driver has a class (Velero's nil). */
  snapshotVolumes: boolean | undefined;
  timeoutMs: number;
  /** The backup's csiVolumeSnapshotClasses. */
  backupClasses: Record<string, string> | undefined;
  /** The cluster's classes, read once per backup. */
  classes: readonly VolumeSnapshotClass[];
  clock: () => Date;
  /** The wait between two looks at a snapshot; pollDelay (util/poll-delay.ts) by default. */
  pollDelay?: PollDelay;
  /** Told about a snapshot that is taking long (its error, if the driver reported one). */
  onWaiting?: (claim: ClaimRecord, message: string) => void;
}

type Resolved =
  | { outcome: VolumeOutcome }
  | { withPv: Omit<VolumeOutcome, 'result'>; driver: string; cls: VolumeSnapshotClass };

/** The claim's volume, driver and class; or why it is not snapshotted. */
async function resolveVolume(claim: ClaimRecord, o: CsiCapturerOptions): Promise<Resolved> {
  const base = { namespace: claim.namespace, claim: claim.name, method: 'CSISnapshot' as const };
  const skipped = (reason: string): Resolved => ({
    outcome: { ...base, result: 'skipped', skippedReason: reason },
  });
  if (o.snapshotVolumes === false) return skipped('snapshotVolumes is false');
  if (!claim.volumeName || claim.phase !== 'Bound')
    return skipped(`the claim is not bound (phase ${claim.phase ?? 'unknown'})`);
  const pv = await o.api.persistentVolume(claim.volumeName);
  if (!pv) return skipped(`its PersistentVolume ${claim.volumeName} does not exist`);
  const withPv = {
    ...base,
    pvName: claim.volumeName,
    pvInfo: { reclaimPolicy: pv.spec.persistentVolumeReclaimPolicy ?? '', labels: { ...pv.metadata.labels } },
  };
  const driver = pv.spec.csi?.driver;
  if (!driver) return { outcome: { ...withPv, result: 'skipped', skippedReason: 'not a CSI volume' } };
  const choice = chooseSnapshotClass({
    driver,
    claimAnnotations: claim.annotations,
    backupClasses: o.backupClasses,
    classes: o.classes,
  });
  if ('none' in choice) {
    // Asked for explicitly, a volume that cannot be snapshotted is a failure; by default a skip.
    return {
      outcome:
        o.snapshotVolumes === true
          ? { ...withPv, result: 'failed', error: `cannot snapshot: ${choice.none}` }
          : { ...withPv, result: 'skipped', skippedReason: choice.none },
    };
  }
  if ('error' in choice) return { outcome: { ...withPv, result: 'failed', error: choice.error } };
  return { withPv, driver, cls: choice.class };
}

export async function captureCsiSnapshot(claim: ClaimRecord, o: CsiCapturerOptions): Promise<VolumeOutcome> {
  const resolved = await resolveVolume(claim, o);
  if ('outcome' in resolved) return resolved.outcome;
  const { withPv, driver, cls } = resolved;
  const start = o.clock();
  let vs: VolumeSnapshot;
  try {
    vs = await o.api.createSnapshot({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: {
        generateName: `lifeboat-${claim.name}-`,
        namespace: claim.namespace,
        labels: { ...claim.labels, [BACKUP_NAME_LABEL]: labelValue(o.backupName) },
      },
      spec: {
        source: { persistentVolumeClaimName: claim.name },
        volumeSnapshotClassName: cls.metadata.name ?? '',
      },
    });
  } catch (err) {
    return {
      ...withPv,
      result: 'failed',
      start,
      completion: o.clock(),
      error: `cannot create VolumeSnapshot: ${text(err)}`,
    };
  }
  const vsName = vs.metadata.name ?? '';
  const ready = await waitReady(claim, vsName, o);
  const completion = o.clock();
  if ('error' in ready) {
    // Velero deletes a snapshot that did not become ready: nothing is left behind.
    await o.api.deleteSnapshot(claim.namespace, vsName).catch(() => undefined);
    return {
      ...withPv,
      result: 'failed',
      start,
      completion,
      error: `VolumeSnapshot ${claim.namespace}/${vsName}: ${ready.error}`,
    };
  }
  const { snapshot, content } = ready;
  const contentName = content.metadata.name ?? '';
  try {
    await o.api.holdContentForBackup(contentName, {
      labels: { [BACKUP_NAME_LABEL]: labelValue(o.backupName) },
      annotations: { [ORIGINAL_DELETION_POLICY]: content.spec.deletionPolicy },
    });
  } catch (err) {
    // Without Retain the snapshot dies with its namespace: not a backup to count on.
    await o.api.deleteSnapshot(claim.namespace, vsName).catch(() => undefined);
    return {
      ...withPv,
      result: 'failed',
      start,
      completion,
      error: `VolumeSnapshotContent ${contentName}: cannot set deletionPolicy Retain: ${text(err)}`,
    };
  }
  return {
    ...withPv,
    result: 'succeeded',
    start,
    completion,
    csi: {
      volumeSnapshot: vsName,
      volumeSnapshotContent: content.metadata.name ?? '',
      volumeSnapshotClass: cls.metadata.name ?? '',
      driver,
      snapshotHandle: content.status?.snapshotHandle ?? '',
      restoreSize: Number(content.status?.restoreSize ?? 0),
    },
    objects: { volumeSnapshot: snapshot, content, snapshotClass: cls },
  };
}

type Ready =
  | { snapshot: VolumeSnapshot; content: NonNullable<Awaited<ReturnType<SnapshotApi['content']>>> }
  | { error: string };

/** One look at the snapshot: ready (with its content), gone, or still waiting (with its error). */
async function look(
  claim: ClaimRecord,
  name: string,
  api: SnapshotApi,
): Promise<Ready | { waiting: string | undefined }> {
  let vs: VolumeSnapshot | null;
  try {
    vs = await api.snapshot(claim.namespace, name);
  } catch (err) {
    return { waiting: text(err) };
  }
  if (vs === null) return { error: 'deleted while waiting for it to become ready' };
  const contentName = vs.status?.boundVolumeSnapshotContentName;
  if (vs.status?.readyToUse === true && contentName) {
    const content = await api.content(contentName);
    if (content?.status?.readyToUse === true && content.status.snapshotHandle)
      return { snapshot: vs, content };
  }
  // The snapshotter reports driver errors here and keeps trying; so does Velero, until its timeout.
  return { waiting: vs.status?.error?.message };
}

async function waitReady(claim: ClaimRecord, name: string, o: CsiCapturerOptions): Promise<Ready> {
  const startedAt = Date.now();
  const deadline = startedAt + o.timeoutMs;
  let lastError: string | undefined;
  for (;;) {
    const seen = await look(claim, name, o.api);
    if (!('waiting' in seen)) return seen;
    if (seen.waiting && seen.waiting !== lastError) {
      lastError = seen.waiting;
      o.onWaiting?.(claim, lastError);
    }
    if (Date.now() >= deadline) {
      const seconds = Math.round(o.timeoutMs / 1000);
      const last = lastError ? `; last error: ${lastError}` : '';
      return { error: `not ready to use within csiSnapshotTimeout (${seconds}s)${last}` };
    }
    // Looks come at most 5 % of the time waited after the snapshot became ready (pollDelay).
    await pollPause(startedAt, { deadline, ...(o.pollDelay ? { delay: o.pollDelay } : {}) });
  }
}

function text(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
