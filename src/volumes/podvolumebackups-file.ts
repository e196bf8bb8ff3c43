// <name>-podvolumebackups.json.gz, as Velero's layout has it (persistence/object_store.go
// PutBackup): the backup's PodVolumeBackups as one gzipped JSON list. A restore reads each
// volume's snapshot id, files, directories and bytes from here.
import { gunzipSync, gzipSync } from 'node:zlib';
import type { PodVolumeBackup } from './pod-volume-types.js';
import type { FsVolumeOutcome } from './restic-capturer.js';

/** The gzipped list of the PodVolumeBackups the capturer ended with (failed ones too, as Velero). */
export function encodePodVolumeBackups(outcomes: readonly FsVolumeOutcome[]): Buffer {
  const objects = outcomes.flatMap((x) => (x.object ? [x.object] : []));
  return gzipSync(JSON.stringify(objects));
}

/** What a restore needs of one backed-up volume. */
export interface FsVolumeRecord {
  namespace: string;
  pod: string;
  volume: string;
  snapshotId: string;
  files: number;
  dirs: number;
  bytes: number;
  /** Snapshot data movement: the claim (in `namespace`) whose data this is; `pod` was temporary. */
  sourceClaim?: string;
}

/** The completed volumes of a stored file; anything else in it is an error naming the file. */
export function decodePodVolumeBackups(gz: Buffer, file: string): FsVolumeRecord[] {
  let list: unknown;
  try {
    list = JSON.parse(gunzipSync(gz).toString('utf8'));
  } catch (err) {
    throw new Error(`${file}: not a gzipped JSON list (${(err as Error).message})`);
  }
  return podVolumeRecordsOf(list, file);
}

/** The completed volumes of the file's parsed JSON; anything else in it is an error naming the file. */
export function podVolumeRecordsOf(list: unknown, file: string): FsVolumeRecord[] {
  // Velero writes the file for every backup, and a backup without pod volume copies gets Go's
  // nil slice, `null`: no volumes, not a damaged file.
  if (list === null) return [];
  if (!Array.isArray(list)) throw new Error(`${file}: not a JSON list`);
  const out: FsVolumeRecord[] = [];
  list.forEach((item: PodVolumeBackup, i) => {
    if (item?.status?.phase !== 'Completed') return;
    const { spec, status } = item;
    if (!spec?.pod?.namespace || !spec.pod.name || !spec.volume || !status.snapshotID) {
      throw new Error(`${file}: item ${i} lacks spec.pod, spec.volume or status.snapshotID`);
    }
    out.push({
      namespace: spec.pod.namespace,
      pod: spec.pod.name,
      volume: spec.volume,
      snapshotId: status.snapshotID,
      files: status.files ?? 0,
      dirs: status.dirs ?? 0,
      bytes: status.bytes ?? 0,
      ...(typeof spec.sourceClaim === 'string' && spec.sourceClaim !== ''
        ? { sourceClaim: spec.sourceClaim }
        : {}),
    });
  });
  return out;
}
