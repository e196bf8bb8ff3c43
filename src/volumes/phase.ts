// The backup's volume phase (SEAM.md): after the listing at revision R and before the archive
// is finished. Each pod that mounts included claims, or has volumes chosen for a file-system
// copy (fs-backup-select.ts), has them captured inside aroundPod (the hooks work supplies
// pre/post hooks there); claims no pod mounts are captured alone. A volume chosen for a
// file-system copy is copied by the node agent (restic-capturer.ts) and never CSI-snapshotted:
// file-system backup wins, as in Velero. Captures run bounded in parallel. Each volume is one
// item of the backup: a failure names the claim or pod volume and makes the backup
// PartiallyFailed, never Completed.
import pLimit from 'p-limit';
import type { KubeClient } from '../kube/client.js';
import {
  PERSISTENT_VOLUME_CLAIM,
  SnapshotApi,
  VOLUME_SNAPSHOT,
  VOLUME_SNAPSHOT_CLASS,
  VOLUME_SNAPSHOT_CONTENT,
  type VolumeSnapshotClass,
} from '../kube/snapshots.js';
import type { KubeObject, ResourceInfo } from '../kube/types.js';
import type { BackupSpec } from '../backup/spec.js';
import { csiSnapshotTimeoutOf } from '../backup/velero-backup.js';
import type { Logger } from '../observe/logger.js';
import type { RunLog } from '../observe/run-log.js';
import type { ClaimRecord, PodRecord, VolumeCollector } from './collect.js';
import { BACKUP_NAME_LABEL, captureCsiSnapshot, labelValue, VOLUME_SNAPSHOT_LABEL } from './csi-capturer.js';
import { parseJson, stringifyJson } from '../util/json.js';
import type { PollDelay } from '../util/poll-delay.js';
import { durationOf, toBackupVolumeInfo, type BackupVolumeInfo, type VolumeOutcome } from './volume-info.js';
import { selectFsBackupVolumes } from './fs-backup-select.js';
import { captureFsVolumes, fsVolumeErrors, type FsVolumeOutcome } from './restic-capturer.js';
import { POD_VOLUME_BACKUP, type RepositorySpec } from './pod-volume-types.js';
import { fsVolumeInfo } from './fs-volume-info.js';
import { moveSnapshotData } from './data-mover.js';
import { DEFAULT_MOVER_IMAGE } from './mover-pod.js';

/** Runs capture() for one pod, around whatever must happen before and after (hooks). */
export type AroundPod = (pod: PodRecord, capture: () => Promise<void>) => Promise<void>;

export const defaultAroundPod: AroundPod = (_pod, capture) => capture();

/** Snapshots taken at once, unless the caller says otherwise. */
export const DEFAULT_VOLUME_CONCURRENCY = 4;

export interface VolumePhaseOptions {
  kube: KubeClient;
  backupName: string;
  spec: BackupSpec;
  collector: VolumeCollector;
  /** Adds objects to the archive (still open) and to the resource list. */
  addToArchive: (info: ResourceInfo, objects: KubeObject[]) => Promise<void>;
  /** Writes entries of listed objects the collector held back (claims), already counted. */
  addHeldEntries: (
    info: ResourceInfo,
    entries: { namespace: string; name: string; json: string | Buffer }[],
  ) => Promise<void>;
  runLog: RunLog;
  log: Logger;
  clock: () => Date;
  aroundPod?: AroundPod;
  concurrency?: number;
  /** The wait between two looks at a snapshot; pollDelay (util/poll-delay.ts) by default. */
  pollDelay?: PollDelay;
  /** Where file-system copies go; absent, a volume chosen for one fails naming why. */
  fsBackup?: FsBackupConfig;
  /** Bytes done / total of each file-system copy, as the node agent reports them. */
  onFsProgress?: (p: FsProgress) => void;
}

/** The restic repository of the backup's location and where the PodVolumeBackups are made. */
export interface FsBackupConfig {
  /** The location's repository; each volume goes to restic/<its pod's namespace>. */
  repository: Omit<RepositorySpec, 'volumeNamespace'>;
  /** The namespace the PodVolumeBackups are created in (lifeboat's). */
  namespace: string;
  /** How long one volume may take (Velero's fs backup timeout is 4h). */
  timeoutMs?: number;
  pollMs?: number;
  /** The image of snapshot data movement's short-lived pod (mover-pod.ts); lifeboat's by default. */
  moverImage?: string;
}

export interface FsProgress {
  backup: string;
  namespace: string;
  pod: string;
  volume: string;
  bytesDone: number;
  totalBytes: number;
}

/** Why no file-system copy can be made when the backup has no repository. */
export const NO_FS_REPOSITORY =
  'no restic repository is configured for this backup (the storage location names no restic password Secret), so the node agent cannot copy it';

export interface VolumeItemError {
  namespace: string;
  resource: string;
  name: string;
  message: string;
}

export interface VolumePhaseResult {
  outcomes: VolumeOutcome[];
  /** One per failed volume, naming its claim: these make the backup PartiallyFailed. */
  errors: VolumeItemError[];
  csiSnapshots: { attempted: number; completed: number };
  sideFiles: VolumeSideFiles;
  /** Each file-system copy (PodVolumeBackup) and its outcome. */
  podVolumes: FsVolumeOutcome[];
  /** The PodVolumeBackups of snapshot data movement (snapshotMoveData), one per moved claim. */
  movedVolumes: FsVolumeOutcome[];
  /** Volumes chosen for a file-system copy that were not copied, and why (warnings). */
  warnings: string[];
}

/** What Velero's layout keeps beside the archive for volumes (object_store_layout.go). */
export interface VolumeSideFiles {
  volumeSnapshots: KubeObject[];
  volumeSnapshotContents: KubeObject[];
  volumeSnapshotClasses: KubeObject[];
  volumeInfo: BackupVolumeInfo[];
  podVolumeBackups: FsVolumeOutcome[];
}

/** One pod (or none, for a claim no pod mounts) and the volumes captured through it. */
export interface CaptureGroup {
  pod?: PodRecord;
  /** Claims to CSI-snapshot. */
  claims: ClaimRecord[];
  /** The pod's volumes to copy with restic (pod volume names). */
  fsVolumes: string[];
}

/**
 * Claims grouped by the first pod that mounts them, in listing order; a claim mounted by
 * several pods is captured once. A pod's volumes chosen for a file-system copy (`fsOf`) are
 * copied through that pod, and their claims are not snapshotted (file-system backup wins, as in
 * Velero), not even through another pod. Claims no backed-up pod mounts form groups of one.
 */
export function groupByPod(
  pods: readonly PodRecord[],
  claims: readonly ClaimRecord[],
  fsOf: (pod: PodRecord) => readonly string[] = () => [],
): CaptureGroup[] {
  const key = (ns: string, name: string): string => `${ns}/${name}`;
  const open = new Map(claims.map((c) => [key(c.namespace, c.name), c]));
  const fsByPod = new Map(pods.map((pod) => [pod, fsOf(pod)]));
  // First every fs-copied claim leaves the snapshot list, whichever pod comes first.
  for (const [pod, fs] of fsByPod) {
    for (const v of pod.volumes) {
      if (v.claimName && fs.includes(v.name)) open.delete(key(pod.namespace, v.claimName));
    }
  }
  const groups: CaptureGroup[] = [];
  for (const [pod, fsVolumes] of fsByPod) {
    const mine: ClaimRecord[] = [];
    for (const v of pod.volumes) {
      if (!v.claimName) continue;
      const claim = open.get(key(pod.namespace, v.claimName));
      if (!claim) continue;
      open.delete(key(pod.namespace, v.claimName));
      mine.push(claim);
    }
    if (mine.length > 0 || fsVolumes.length > 0)
      groups.push({ pod, claims: mine, fsVolumes: [...fsVolumes] });
  }
  for (const claim of open.values()) groups.push({ claims: [claim], fsVolumes: [] });
  return groups;
}

/**
 * The volumes of a pod chosen for a file-system copy. A pod that does not run has no mounted
 * volume to read: its volumes are skipped with a warning, as Velero skips them.
 */
function fsChoice(pod: PodRecord, defaultVolumesToFsBackup: boolean, warnings: string[]): string[] {
  const selection = selectFsBackupVolumes(pod, defaultVolumesToFsBackup);
  for (const s of selection.skipped) {
    warnings.push(`pod ${pod.namespace}/${pod.name}: volume ${s.volume} is not copied: ${s.reason}`);
  }
  if (selection.volumes.length === 0) return [];
  if (pod.phase !== undefined && pod.phase !== 'Running') {
    warnings.push(
      `pod ${pod.namespace}/${pod.name}: volumes ${selection.volumes.join(', ')} are not copied: the pod is ${pod.phase}, not Running, so no volume of it is mounted`,
    );
    return [];
  }
  return selection.volumes;
}

export async function runVolumePhase(o: VolumePhaseOptions): Promise<VolumePhaseResult> {
  const { collector } = o;
  const warnings: string[] = [];
  const fsChosen = new Map<PodRecord, string[]>();
  for (const pod of collector.pods) {
    const chosen = fsChoice(pod, o.spec.defaultVolumesToFsBackup ?? false, warnings);
    if (chosen.length > 0) fsChosen.set(pod, chosen);
  }
  for (const w of warnings) o.runLog.add('warning', w);
  const empty: VolumePhaseResult = {
    outcomes: [],
    errors: [],
    csiSnapshots: { attempted: 0, completed: 0 },
    sideFiles: {
      volumeSnapshots: [],
      volumeSnapshotContents: [],
      volumeSnapshotClasses: [],
      volumeInfo: [],
      podVolumeBackups: [],
    },
    podVolumes: [],
    movedVolumes: [],
    warnings,
  };
  if (collector.claims.length === 0 && fsChosen.size === 0) {
    await writeClaims(o, []);
    return empty;
  }

  const api = new SnapshotApi(o.kube);
  const classes: VolumeSnapshotClass[] =
    o.spec.snapshotVolumes === false || collector.claims.length === 0 ? [] : await api.snapshotClasses();
  const timeoutMs = csiSnapshotTimeoutOf(o.spec);
  const aroundPod = o.aroundPod ?? defaultAroundPod;
  const limit = pLimit(o.concurrency ?? DEFAULT_VOLUME_CONCURRENCY);
  const outcomes: VolumeOutcome[] = [];
  const podVolumes: FsVolumeOutcome[] = [];
  const movedVolumes: FsVolumeOutcome[] = [];
  const claimRecords = new Map(collector.claims.map((c) => [`${c.namespace}/${c.name}`, c]));
  // snapshotMoveData: after the pod's hooks (the snapshot is the consistent point; copying it
  // need not keep the application frozen), each ready snapshot's data goes to restic.
  const moveData = async (x: VolumeOutcome): Promise<VolumeOutcome> => {
    const claim = claimRecords.get(`${x.namespace}/${x.claim}`);
    if (!o.spec.snapshotMoveData || x.result !== 'succeeded' || !x.csi || !claim) return x;
    const moved = await moveSnapshotData(claim, x, {
      kube: o.kube,
      backupName: o.backupName,
      ...(o.fsBackup ? { repository: o.fsBackup.repository } : {}),
      namespace: o.fsBackup?.namespace ?? '',
      image: o.fsBackup?.moverImage ?? DEFAULT_MOVER_IMAGE,
      clock: o.clock,
      ...(o.fsBackup?.timeoutMs !== undefined ? { copyTimeoutMs: o.fsBackup.timeoutMs } : {}),
      ...(o.fsBackup?.pollMs !== undefined ? { pollMs: o.fsBackup.pollMs } : {}),
      onProgress: progressLogger(o, x.namespace),
    });
    if (moved.copy) movedVolumes.push(moved.copy);
    for (const w of moved.warnings) {
      warnings.push(w);
      o.runLog.add('warning', w);
    }
    return moved.outcome;
  };

  const captureClaim = async (claim: ClaimRecord, pod: PodRecord | undefined): Promise<VolumeOutcome> => {
    try {
      const outcome = await captureCsiSnapshot(claim, {
        api,
        backupName: o.backupName,
        snapshotVolumes: o.spec.snapshotVolumes,
        timeoutMs,
        backupClasses: o.spec.csiVolumeSnapshotClasses,
        classes,
        clock: o.clock,
        ...(o.pollDelay ? { pollDelay: o.pollDelay } : {}),
        onWaiting: (c, message) =>
          o.runLog.add('warning', 'volume snapshot not ready yet', {
            namespace: c.namespace,
            claim: c.name,
            error: message,
          }),
      });
      return pod ? { ...outcome, pod: pod.name } : outcome;
    } catch (err) {
      return {
        namespace: claim.namespace,
        claim: claim.name,
        method: 'CSISnapshot',
        result: 'failed',
        error: err instanceof Error ? err.message : String(err),
        ...(pod ? { pod: pod.name } : {}),
      };
    }
  };

  const claimVolume = new Map(collector.claims.map((c) => [`${c.namespace}/${c.name}`, c.volumeName]));
  const copyVolumes = (pod: PodRecord, volumes: readonly string[]): Promise<FsVolumeOutcome[]> => {
    if (!o.fsBackup) {
      return Promise.resolve(volumes.map((v) => fsFailure(pod, v, NO_FS_REPOSITORY, o.clock)));
    }
    return captureFsVolumes(pod, volumes, {
      kube: o.kube,
      backupName: o.backupName,
      repository: o.fsBackup.repository,
      namespace: o.fsBackup.namespace,
      // The kubelet names a claim's directory after its PersistentVolume, from the listing.
      volumeOfClaim: (ns, claim) => claimVolume.get(`${ns}/${claim}`),
      clock: o.clock,
      ...(o.fsBackup.timeoutMs !== undefined ? { timeoutMs: o.fsBackup.timeoutMs } : {}),
      ...(o.fsBackup.pollMs !== undefined ? { pollMs: o.fsBackup.pollMs } : {}),
      onProgress: progressLogger(o, pod.namespace),
    });
  };

  const groups = groupByPod(collector.pods, collector.claims, (pod) => fsChosen.get(pod) ?? []);
  await Promise.all(
    groups.map((group) =>
      limit(async () => {
        const done: VolumeOutcome[] = [];
        const copied: FsVolumeOutcome[] = [];
        const capture = async (): Promise<void> => {
          const [snapshots, copies] = await Promise.all([
            Promise.all(group.claims.map((c) => captureClaim(c, group.pod))),
            group.pod && group.fsVolumes.length > 0 ? copyVolumes(group.pod, group.fsVolumes) : [],
          ]);
          done.push(...snapshots);
          copied.push(...copies);
        };
        try {
          if (group.pod) await aroundPod(group.pod, capture);
          else await capture();
        } catch (err) {
          // What ran around the capture failed (a hook): the volumes not captured are failed items.
          const message = err instanceof Error ? err.message : String(err);
          for (const c of group.claims) {
            if (done.some((d) => d.namespace === c.namespace && d.claim === c.name)) continue;
            done.push({
              namespace: c.namespace,
              claim: c.name,
              method: 'CSISnapshot',
              result: 'failed',
              error: message,
            });
          }
          if (group.pod && copied.length === 0) {
            for (const v of group.fsVolumes) copied.push(fsFailure(group.pod, v, message, o.clock));
          }
        }
        outcomes.push(...(await Promise.all(done.map(moveData))));
        podVolumes.push(...copied);
      }),
    ),
  );
  outcomes.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.claim.localeCompare(b.claim));
  podVolumes.sort(
    (a, b) =>
      a.namespace.localeCompare(b.namespace) ||
      a.pod.localeCompare(b.pod) ||
      a.volume.localeCompare(b.volume),
  );

  for (const outcome of outcomes) logOutcome(o, outcome);
  for (const copy of podVolumes) logCopy(o, copy);
  await writeClaims(o, outcomes);
  const sideFiles = sideFilesOf(outcomes, podVolumes, movedVolumes);
  await o.addToArchive(VOLUME_SNAPSHOT, sideFiles.volumeSnapshots);
  await o.addToArchive(VOLUME_SNAPSHOT_CONTENT, sideFiles.volumeSnapshotContents);
  await o.addToArchive(VOLUME_SNAPSHOT_CLASS, sideFiles.volumeSnapshotClasses);
  await o.addToArchive(
    POD_VOLUME_BACKUP,
    sideFiles.podVolumeBackups.flatMap((x) => (x.object ? [x.object] : [])),
  );

  const attempted = outcomes.filter((x) => x.start !== undefined && x.method === 'CSISnapshot');
  return {
    outcomes,
    errors: [
      ...outcomes
        .filter((x) => x.result === 'failed')
        .map((x) => ({
          namespace: x.namespace,
          resource: 'persistentvolumeclaims',
          name: x.claim,
          // A failed move's error names the claim and the step already.
          message: x.movementFailed
            ? (x.error ?? '')
            : `volume snapshot failed: ${x.error ?? 'unknown error'}`,
        })),
      ...fsVolumeErrors(podVolumes),
    ],
    csiSnapshots: {
      attempted: attempted.length,
      completed: attempted.filter((x) => x.result === 'succeeded').length,
    },
    sideFiles,
    podVolumes,
    movedVolumes,
    warnings,
  };
}

function fsFailure(pod: PodRecord, volume: string, error: string, clock: () => Date): FsVolumeOutcome {
  const now = clock().toISOString();
  const claim = pod.volumes.find((v) => v.name === volume)?.claimName;
  return {
    namespace: pod.namespace,
    pod: pod.name,
    volume,
    ...(claim ? { claim } : {}),
    method: 'PodVolumeBackup',
    result: 'failed',
    error: `volume ${volume} of pod ${pod.namespace}/${pod.name}: ${error}`,
    start: now,
    completion: now,
  };
}

/** Progress of each copy: into the backup's log when it moved (at most every 10 s), and out. */
function progressLogger(
  o: VolumePhaseOptions,
  namespace: string,
): (p: { pod: string; volume: string; bytesDone: number; totalBytes: number }) => void {
  const last = new Map<string, { at: number; bytesDone: number }>();
  return (p) => {
    o.onFsProgress?.({ backup: o.backupName, namespace, ...p });
    const key = `${p.pod}/${p.volume}`;
    const before = last.get(key);
    const now = Date.now();
    if (before && (before.bytesDone === p.bytesDone || now - before.at < 10_000)) return;
    last.set(key, { at: now, bytesDone: p.bytesDone });
    o.runLog.add('info', 'pod volume backup progress', {
      namespace,
      pod: p.pod,
      volume: p.volume,
      bytesDone: p.bytesDone,
      totalBytes: p.totalBytes,
    });
  };
}

/**
 * The held claims into the archive; a snapshotted one with Velero's marks (pvc_action.go): the
 * annotation and label velero.io/volume-snapshot-name, by which Velero's restore finds its
 * VolumeSnapshot, and the label velero.io/backup-name.
 */
async function writeClaims(o: VolumePhaseOptions, outcomes: readonly VolumeOutcome[]): Promise<void> {
  const held = o.collector.claimJson;
  if (held.size === 0) return;
  const snapshotOf = new Map(
    outcomes
      // A moved snapshot is restored from restic, not from the snapshot: no marks.
      .filter((x) => x.result === 'succeeded' && x.csi && !x.moved)
      .map((x) => [`${x.namespace}/${x.claim}`, x.csi!]),
  );
  const entries: { namespace: string; name: string; json: string | Buffer }[] = [];
  for (const [key, json] of held) {
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const csi = snapshotOf.get(key);
    if (!csi) {
      entries.push({ namespace, name, json });
      continue;
    }
    const obj = parseJson(json.toString('utf8')) as KubeObject;
    obj.metadata.annotations = { ...obj.metadata.annotations, [VOLUME_SNAPSHOT_LABEL]: csi.volumeSnapshot };
    obj.metadata.labels = {
      ...obj.metadata.labels,
      [VOLUME_SNAPSHOT_LABEL]: csi.volumeSnapshot,
      [BACKUP_NAME_LABEL]: labelValue(o.backupName),
    };
    entries.push({ namespace, name, json: stringifyJson(obj) });
  }
  held.clear();
  await o.addHeldEntries(PERSISTENT_VOLUME_CLAIM, entries);
}

function sideFilesOf(
  outcomes: readonly VolumeOutcome[],
  podVolumes: readonly FsVolumeOutcome[],
  movedVolumes: readonly FsVolumeOutcome[],
): VolumeSideFiles {
  const classes = new Map<string, KubeObject>();
  const files: VolumeSideFiles = {
    volumeSnapshots: [],
    volumeSnapshotContents: [],
    volumeSnapshotClasses: [],
    volumeInfo: [...outcomes.map(toBackupVolumeInfo), ...podVolumes.map(fsVolumeInfo)],
    // Moved snapshots' copies too: a restore finds a moved claim's restic snapshot there, and
    // expiry the repositories to forget in (forget-backup.ts).
    podVolumeBackups: [...podVolumes, ...movedVolumes],
  };
  for (const x of outcomes) {
    if (x.objects?.volumeSnapshot) files.volumeSnapshots.push(x.objects.volumeSnapshot);
    if (x.objects?.content) files.volumeSnapshotContents.push(x.objects.content);
    const cls = x.objects?.snapshotClass;
    if (cls?.metadata.name) classes.set(cls.metadata.name, cls);
  }
  files.volumeSnapshotClasses = [...classes.values()];
  return files;
}

function logOutcome(o: VolumePhaseOptions, x: VolumeOutcome): void {
  const where = { namespace: x.namespace, claim: x.claim, ...(x.pvName ? { volume: x.pvName } : {}) };
  const durationMs = durationOf(x);
  if (x.result === 'succeeded' && x.moved) {
    o.runLog.add('info', 'snapshot data moved', {
      ...where,
      snapshotID: x.moved.snapshotId,
      repository: `restic/${x.moved.repositoryNamespace}`,
      files: x.moved.files,
      bytes: x.moved.bytes,
      ...(durationMs !== undefined ? { durationMs } : {}),
    });
    o.log.info({ backup: o.backupName, ...where, durationMs, bytes: x.moved.bytes }, 'snapshot data moved');
  } else if (x.result === 'succeeded' && x.csi) {
    o.runLog.add('info', 'volume snapshot taken', {
      ...where,
      volumeSnapshot: x.csi.volumeSnapshot,
      volumeSnapshotContent: x.csi.volumeSnapshotContent,
      restoreSize: x.csi.restoreSize,
      ...(durationMs !== undefined ? { durationMs } : {}),
    });
    o.log.info(
      { backup: o.backupName, ...where, durationMs, bytes: x.csi.restoreSize },
      'volume snapshot taken',
    );
  } else if (x.result === 'failed') {
    o.runLog.add('error', 'volume snapshot failed', {
      ...where,
      error: x.error ?? '',
      ...(durationMs !== undefined ? { durationMs } : {}),
    });
    o.log.warn({ backup: o.backupName, ...where, error: x.error }, 'volume snapshot failed');
  } else {
    o.runLog.add('info', 'volume not snapshotted', { ...where, reason: x.skippedReason ?? '' });
  }
}

function logCopy(o: VolumePhaseOptions, x: FsVolumeOutcome): void {
  const where = {
    namespace: x.namespace,
    pod: x.pod,
    volume: x.volume,
    ...(x.claim ? { claim: x.claim } : {}),
  };
  const durationMs = Date.parse(x.completion) - Date.parse(x.start);
  if (x.result === 'succeeded') {
    o.runLog.add('info', 'pod volume backup completed', {
      ...where,
      snapshotID: x.snapshotId ?? '',
      files: x.files ?? 0,
      bytes: x.bytes ?? 0,
      durationMs,
    });
    o.log.info({ backup: o.backupName, ...where, durationMs, bytes: x.bytes }, 'pod volume backup completed');
  } else {
    o.runLog.add('error', 'pod volume backup failed', { ...where, error: x.error ?? '' });
    o.log.warn({ backup: o.backupName, ...where, error: x.error }, 'pod volume backup failed');
  }
}
