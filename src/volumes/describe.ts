// The volumes of a backup as `lifeboat backup describe` prints them: one line per volume with
// how it was captured, the outcome, the snapshot's size and how long it took.
import type { BackupVolumeInfo } from './volume-info.js';

/** Bytes as Kubernetes quantities read: 1Gi, 512Mi, 100Ki, or plain bytes. */
export function formatBytes(bytes: number): string {
  const units: [string, number][] = [
    ['Ti', 2 ** 40],
    ['Gi', 2 ** 30],
    ['Mi', 2 ** 20],
    ['Ki', 2 ** 10],
  ];
  for (const [unit, size] of units) {
    if (bytes >= size) {
      const v = bytes / size;
      return `${Number.isInteger(v) ? v : v.toFixed(1)}${unit}`;
    }
  }
  return `${bytes}B`;
}

function duration(v: BackupVolumeInfo): string {
  if (!v.startTimestamp || !v.completionTimestamp) return '-';
  const ms = Date.parse(v.completionTimestamp) - Date.parse(v.startTimestamp);
  return Number.isFinite(ms) ? `${Math.max(0, ms / 1000)}s` : '-';
}

/** Lines for describe's text output; [] for a backup without volumes. */
export function describeVolumes(volumes: readonly BackupVolumeInfo[]): string[] {
  if (volumes.length === 0) return [];
  const lines = ['Volumes:'];
  for (const v of volumes) {
    if (v.pvbInfo) {
      lines.push(fsLine(v, v.pvbInfo));
      continue;
    }
    const claim = `${v.pvcNamespace}/${v.pvcName}`;
    if (v.skipped) {
      lines.push(`  ${claim}: skipped (${v.skippedReason ?? 'no reason recorded'})`);
      continue;
    }
    const csi = v.csiSnapshotInfo;
    const size = csi ? formatBytes(csi.size) : '-';
    lines.push(
      `  ${claim}: ${v.backupMethod ?? '?'} ${v.result ?? '?'}, size ${size}, took ${duration(v)}` +
        (csi?.snapshotHandle ? `, snapshot ${csi.vscName} (handle ${csi.snapshotHandle})` : ''),
    );
  }
  return lines;
}

/** A file-system copy: the pod's volume (and its claim), the bytes copied and the restic snapshot. */
function fsLine(v: BackupVolumeInfo, pvb: NonNullable<BackupVolumeInfo['pvbInfo']>): string {
  const claim = v.pvcName ? ` (claim ${v.pvcName})` : '';
  const snapshot = pvb.snapshotHandle ? `, restic snapshot ${pvb.snapshotHandle.slice(0, 12)}` : '';
  return (
    `  ${pvb.podNamespace}/${pvb.podName} volume ${pvb.volumeName}${claim}: ${v.backupMethod ?? '?'} ` +
    `${v.result ?? '?'}, ${formatBytes(pvb.size)} copied, took ${duration(v)}${snapshot}`
  );
}
