// What a backup says about its CSI snapshots, read from Velero's side files
// (storage/layout.ts backupLayout.csi*, volumeInfo): the VolumeSnapshots and
// VolumeSnapshotContents as they were once ready, and Velero's BackupVolumeInfo per volume
// (internal/volume/volumes_information.go). A backup without them took no CSI snapshot.
import type { KubeObject } from '../kube/types.js';
import { backupLayout } from '../storage/layout.js';
import { readJsonGzSideFile, SideFileError } from '../storage/side-files.js';
import type { BackupStore } from '../storage/store.js';
import { isJsonMap } from './strategic-merge.js';

/** The fields of Velero's BackupVolumeInfo that a restore reads. */
export interface BackupVolumeInfo {
  pvcName?: string;
  pvcNamespace?: string;
  pvName?: string;
  /** 'CSISnapshot', 'NativeSnapshot', 'PodVolumeBackup' or absent. */
  backupMethod?: string;
  snapshotDataMoved?: boolean;
  skipped?: boolean;
  skippedReason?: string;
  result?: string;
  csiSnapshotInfo?: {
    snapshotHandle?: string;
    size?: number;
    driver?: string;
    vscName?: string;
    operationID?: string;
  };
  pvInfo?: { reclaimPolicy?: string; labels?: Record<string, string> };
}

export interface BackupCsiFiles {
  volumeSnapshots: KubeObject[];
  volumeSnapshotContents: KubeObject[];
  volumeSnapshotClasses: KubeObject[];
  volumeInfos: BackupVolumeInfo[];
}

/** One CSI snapshot of a claim, as the backup recorded it. */
export interface BackupCsiSnapshot {
  /** The claim's namespace and name in the backup (before namespace mapping). */
  namespace: string;
  claim: string;
  /** The VolumeSnapshot's name in the backup. */
  volumeSnapshot: string;
  /** The VolumeSnapshotContent it was bound to, when known. */
  content?: string;
  snapshotHandle?: string;
  driver?: string;
  /** status.restoreSize, a quantity ("1Gi") or a byte count. */
  restoreSize?: string;
}

/** Read the four side files; each one missing counts as empty. */
export async function readCsiFiles(store: BackupStore, backupName: string): Promise<BackupCsiFiles> {
  const list = async (key: string) => arrayOf(await readJsonGzSideFile(store, key), key, store.describe);
  const [vs, vsc, classes, infos] = await Promise.all([
    list(backupLayout.csiVolumeSnapshots(backupName)),
    list(backupLayout.csiVolumeSnapshotContents(backupName)),
    list(backupLayout.csiVolumeSnapshotClasses(backupName)),
    list(backupLayout.volumeInfo(backupName)),
  ]);
  const objects = (items: unknown[], key: string, kind: string, apiVersion: string): KubeObject[] =>
    items.map((item, i) => {
      const meta = isJsonMap(item) ? item.metadata : undefined;
      if (!isJsonMap(item) || !isJsonMap(meta) || typeof meta.name !== 'string' || meta.name === '') {
        throw new SideFileError(key, store.describe, `entry ${i} is not a ${kind} with metadata.name`);
      }
      // Velero marshals typed Go objects, which may come without apiVersion and kind.
      return { ...item, apiVersion, kind, metadata: meta };
    });
  const snapshotApi = 'snapshot.storage.k8s.io/v1';
  return {
    volumeSnapshots: objects(vs, backupLayout.csiVolumeSnapshots(backupName), 'VolumeSnapshot', snapshotApi),
    volumeSnapshotContents: objects(
      vsc,
      backupLayout.csiVolumeSnapshotContents(backupName),
      'VolumeSnapshotContent',
      snapshotApi,
    ),
    volumeSnapshotClasses: objects(
      classes,
      backupLayout.csiVolumeSnapshotClasses(backupName),
      'VolumeSnapshotClass',
      snapshotApi,
    ),
    volumeInfos: infos.map((item, i) => {
      if (!isJsonMap(item)) {
        throw new SideFileError(
          backupLayout.volumeInfo(backupName),
          store.describe,
          `entry ${i} is not an object`,
        );
      }
      return item;
    }),
  };
}

function arrayOf(value: unknown, key: string, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new SideFileError(key, where, 'is not a JSON array');
  return value as unknown[];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function field(obj: unknown, ...path: string[]): unknown {
  let at: unknown = obj;
  for (const p of path) at = isJsonMap(at) ? at[p] : undefined;
  return at;
}

/**
 * The backup's snapshots by claim (`namespace/claim` in the backup). From the VolumeSnapshots
 * that name their source claim, joined with their content (by
 * status.boundVolumeSnapshotContentName, or the volume info's vscName) for the handle and
 * driver; and from the volume infos alone, which is all Velero 1.18 leaves (it deletes the
 * snapshot objects after the backup and writes the two lists empty). Its operationID is
 * `<namespace>/<VolumeSnapshot>/<time>` (pkg/backup/actions/csi/pvc_action.go).
 */
export function snapshotsByClaim(files: BackupCsiFiles): Map<string, BackupCsiSnapshot> {
  const contents = new Map(files.volumeSnapshotContents.map((c) => [c.metadata.name ?? '', c]));
  const infoOf = new Map(
    files.volumeInfos
      .filter((v) => v.backupMethod === 'CSISnapshot' && v.csiSnapshotInfo)
      .map((v) => [`${v.pvcNamespace ?? ''}/${v.pvcName ?? ''}`, v]),
  );
  const out = new Map<string, BackupCsiSnapshot>();
  const add = (
    key: string,
    snapshot: BackupCsiSnapshot,
    content: KubeObject | undefined,
    restoreSize: unknown,
  ) => {
    const info = infoOf.get(key)?.csiSnapshotInfo;
    const handle = str(field(content, 'status', 'snapshotHandle')) ?? str(info?.snapshotHandle);
    if (handle !== undefined) snapshot.snapshotHandle = handle;
    const driver = str(field(content, 'spec', 'driver')) ?? str(info?.driver);
    if (driver !== undefined) snapshot.driver = driver;
    const size = restoreSize ?? field(content, 'status', 'restoreSize') ?? info?.size;
    if (typeof size === 'string' || typeof size === 'number') snapshot.restoreSize = String(size);
    out.set(key, snapshot);
  };
  for (const vs of files.volumeSnapshots) {
    const namespace = vs.metadata.namespace ?? '';
    const claim = str(field(vs, 'spec', 'source', 'persistentVolumeClaimName'));
    if (claim === undefined) continue;
    const key = `${namespace}/${claim}`;
    const contentName =
      str(field(vs, 'status', 'boundVolumeSnapshotContentName')) ??
      str(infoOf.get(key)?.csiSnapshotInfo?.vscName);
    const snapshot: BackupCsiSnapshot = { namespace, claim, volumeSnapshot: vs.metadata.name ?? '' };
    if (contentName !== undefined) snapshot.content = contentName;
    add(
      key,
      snapshot,
      contentName !== undefined ? contents.get(contentName) : undefined,
      field(vs, 'status', 'restoreSize'),
    );
  }
  for (const [key, v] of infoOf) {
    if (out.has(key)) continue;
    const info = v.csiSnapshotInfo ?? {};
    const [opNamespace, vsName] = (str(info.operationID) ?? '').split('/');
    if (vsName === undefined || vsName === '' || opNamespace !== (v.pvcNamespace ?? '')) continue;
    const snapshot: BackupCsiSnapshot = {
      namespace: v.pvcNamespace ?? '',
      claim: v.pvcName ?? '',
      volumeSnapshot: vsName,
    };
    if (str(info.vscName) !== undefined) snapshot.content = info.vscName;
    add(key, snapshot, info.vscName !== undefined ? contents.get(info.vscName) : undefined, undefined);
  }
  return out;
}
