// The backup's volume phase (SEAM.md): after the listing at revision R and before the archive
// is finished. Each pod that mounts included claims has them captured inside aroundPod (the
// hooks work supplies pre/post hooks there); claims no pod mounts are captured alone. Captures
// run bounded in parallel. Each volume is one item of the backup: a failure names the claim and
// makes the backup PartiallyFailed, never Completed.
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
}

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
}

/** What Velero's layout keeps beside the archive for volumes (object_store_layout.go). */
export interface VolumeSideFiles {
  volumeSnapshots: KubeObject[];
  volumeSnapshotContents: KubeObject[];
  volumeSnapshotClasses: KubeObject[];
  volumeInfo: BackupVolumeInfo[];
}

/** One pod (or none, for a claim no pod mounts) and the claims captured through it. */
export interface CaptureGroup {
  pod?: PodRecord;
  claims: ClaimRecord[];
}

/**
 * Claims grouped by the first pod that mounts them, in listing order; a claim mounted by
 * several pods is captured once. Claims no backed-up pod mounts form groups of one.
 */
export function groupByPod(pods: readonly PodRecord[], claims: readonly ClaimRecord[]): CaptureGroup[] {
  const key = (ns: string, name: string): string => `${ns}/${name}`;
  const open = new Map(claims.map((c) => [key(c.namespace, c.name), c]));
  const groups: CaptureGroup[] = [];
  for (const pod of pods) {
    const mine: ClaimRecord[] = [];
    for (const v of pod.volumes) {
      if (!v.claimName) continue;
      const claim = open.get(key(pod.namespace, v.claimName));
      if (!claim) continue;
      open.delete(key(pod.namespace, v.claimName));
      mine.push(claim);
    }
    if (mine.length > 0) groups.push({ pod, claims: mine });
  }
  for (const claim of open.values()) groups.push({ claims: [claim] });
  return groups;
}

export async function runVolumePhase(o: VolumePhaseOptions): Promise<VolumePhaseResult> {
  const { collector } = o;
  const empty: VolumePhaseResult = {
    outcomes: [],
    errors: [],
    csiSnapshots: { attempted: 0, completed: 0 },
    sideFiles: { volumeSnapshots: [], volumeSnapshotContents: [], volumeSnapshotClasses: [], volumeInfo: [] },
  };
  if (collector.claims.length === 0) {
    await writeClaims(o, []);
    return empty;
  }

  const api = new SnapshotApi(o.kube);
  const classes: VolumeSnapshotClass[] = o.spec.snapshotVolumes === false ? [] : await api.snapshotClasses();
  const timeoutMs = csiSnapshotTimeoutOf(o.spec);
  const aroundPod = o.aroundPod ?? defaultAroundPod;
  const limit = pLimit(o.concurrency ?? DEFAULT_VOLUME_CONCURRENCY);
  const outcomes: VolumeOutcome[] = [];

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

  const groups = groupByPod(collector.pods, collector.claims);
  await Promise.all(
    groups.map((group) =>
      limit(async () => {
        const done: VolumeOutcome[] = [];
        const capture = async (): Promise<void> => {
          done.push(...(await Promise.all(group.claims.map((c) => captureClaim(c, group.pod)))));
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
        }
        outcomes.push(...done);
      }),
    ),
  );
  outcomes.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.claim.localeCompare(b.claim));

  for (const outcome of outcomes) logOutcome(o, outcome);
  await writeClaims(o, outcomes);
  const sideFiles = sideFilesOf(outcomes);
  await o.addToArchive(VOLUME_SNAPSHOT, sideFiles.volumeSnapshots);
  await o.addToArchive(VOLUME_SNAPSHOT_CONTENT, sideFiles.volumeSnapshotContents);
  await o.addToArchive(VOLUME_SNAPSHOT_CLASS, sideFiles.volumeSnapshotClasses);

  const attempted = outcomes.filter((x) => x.start !== undefined && x.method === 'CSISnapshot');
  return {
    outcomes,
    errors: outcomes
      .filter((x) => x.result === 'failed')
      .map((x) => ({
        namespace: x.namespace,
        resource: 'persistentvolumeclaims',
        name: x.claim,
        message: `volume snapshot failed: ${x.error ?? 'unknown error'}`,
      })),
    csiSnapshots: {
      attempted: attempted.length,
      completed: attempted.filter((x) => x.result === 'succeeded').length,
    },
    sideFiles,
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
      .filter((x) => x.result === 'succeeded' && x.csi)
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

function sideFilesOf(outcomes: readonly VolumeOutcome[]): VolumeSideFiles {
  const classes = new Map<string, KubeObject>();
  const files: VolumeSideFiles = {
    volumeSnapshots: [],
    volumeSnapshotContents: [],
    volumeSnapshotClasses: [],
    volumeInfo: outcomes.map(toBackupVolumeInfo),
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
  if (x.result === 'succeeded' && x.csi) {
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
