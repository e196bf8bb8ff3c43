// Verification restores, the volume half (pure): what the backup recorded of each volume — the
// restic copies in its podvolumebackups file (pod volumes and moved snapshot data) and the claims
// it snapshotted with CSI — against what the scratch restore got, one line per volume naming the
// scratch namespace and the pod, volume or claim, what was checked, and passed or failed with why.
// verification-run.ts gathers the inputs; the restic side's checksums are the node agent's
// (`restic restore --verify`, PodVolumeRestore spec.verify), so a copy passes only when restic
// read every restored file back and it matched the snapshot.
import type { MovedClaimFill } from '../restore/moved-claims-fill.js';
import type { PodVolumeRestoreOutcome } from '../restore/pod-volume-restores.js';
import type { FsVolumeRecord } from '../volumes/podvolumebackups-file.js';

export type VolumeCheckKind = 'file-system-copy' | 'moved-snapshot-data' | 'csi-snapshot';

export interface VolumeCheck {
  kind: VolumeCheckKind;
  /** The scratch namespace the volume was restored into. */
  namespace: string;
  pod?: string;
  volume?: string;
  claim?: string;
  /** What this line checked, in one sentence. */
  checked: string;
  result: 'passed' | 'failed';
  /** Files and bytes the restore wrote (restic copies). */
  files?: number;
  bytes?: number;
  /** Files and bytes the backup recorded (restic copies). */
  expected?: { files: number; bytes: number };
  /** Why it failed. */
  reason?: string;
}

/** A claim in a scratch namespace as the run found it after the restore. */
export interface ClaimState {
  phase?: string;
  /** spec.dataSource's VolumeSnapshot, when the claim was made from one. */
  fromSnapshot?: string;
}

export interface VolumeComparisonInput {
  /** The backup's completed restic copies (podvolumebackups file), in backup namespaces. */
  records: readonly FsVolumeRecord[];
  /** The backup's CSI-snapshotted claims whose data was not moved, in backup namespaces. */
  csiClaims: readonly { namespace: string; claim: string; volumeSnapshot: string }[];
  /** Backup namespace → scratch namespace; volumes of other namespaces were not restored. */
  mapping: Readonly<Record<string, string>>;
  /** The restore's outcomes, in scratch namespaces. */
  podVolumes: readonly PodVolumeRestoreOutcome[];
  movedClaims: readonly MovedClaimFill[];
  /** A claim in a scratch namespace; undefined when there is none. */
  claim: (namespace: string, name: string) => ClaimState | undefined;
  /** Why the restore could not write an object, by "<groupResource> <namespace>/<name>". */
  itemFailures: ReadonlyMap<string, string>;
}

const RESTIC_CHECKED =
  "restored with restic; files and bytes compared with the backup's record; every file read back and matched against the snapshot's content hashes (restic restore --verify)";

/** One line per volume of the backup that the scratch restore brought back, sorted. */
export function compareVolumes(input: VolumeComparisonInput): VolumeCheck[] {
  const lines: VolumeCheck[] = [];
  for (const r of input.records) {
    const target = input.mapping[r.namespace];
    if (target === undefined) continue;
    lines.push(
      r.sourceClaim === undefined ? podVolumeLine(r, target, input) : movedClaimLine(r, target, input),
    );
  }
  for (const c of input.csiClaims) {
    const target = input.mapping[c.namespace];
    if (target !== undefined) lines.push(csiLine(c, target, input));
  }
  // Field by field: localeCompare would ignore a separator character and mix the fields.
  const fields = (l: VolumeCheck) => [l.namespace, l.pod ?? '', l.volume ?? '', l.claim ?? ''];
  return lines.sort((a, b) => {
    const [x, y] = [fields(a), fields(b)];
    const i = x.findIndex((v, n) => v !== y[n]);
    return i < 0 ? 0 : (x[i] ?? '') < (y[i] ?? '') ? -1 : 1;
  });
}

/** How many lines passed and failed. */
export function volumeCounts(lines: readonly VolumeCheck[]): {
  checked: number;
  passed: number;
  failed: number;
} {
  const failed = lines.filter((l) => l.result === 'failed').length;
  return { checked: lines.length, passed: lines.length - failed, failed };
}

/** "volume data of pod ns/p" etc., for the first failed line in a reason. */
export function describeVolume(l: VolumeCheck): string {
  if (l.pod !== undefined && l.kind === 'file-system-copy') {
    return `volume ${l.volume ?? '?'}${l.claim ? ` (claim ${l.claim})` : ''} of pod ${l.namespace}/${l.pod}`;
  }
  return `claim ${l.namespace}/${l.claim ?? '?'}`;
}

function podVolumeLine(r: FsVolumeRecord, target: string, input: VolumeComparisonInput): VolumeCheck {
  const outcome = input.podVolumes.find(
    (x) => x.namespace === target && x.pod === r.pod && x.volume === r.volume,
  );
  const base = {
    kind: 'file-system-copy' as const,
    namespace: target,
    pod: r.pod,
    volume: r.volume,
    ...(outcome?.claim ? { claim: outcome.claim } : {}),
    checked: RESTIC_CHECKED,
    expected: { files: r.files, bytes: r.bytes },
  };
  if (outcome === undefined) {
    const podFailure = input.itemFailures.get(`pods ${target}/${r.pod}`);
    return {
      ...base,
      result: 'failed',
      reason: podFailure
        ? `its pod was not restored: ${podFailure}`
        : 'the restore filled no such volume (its pod was not created in the scratch namespace)',
    };
  }
  return resticOutcome(base, outcome);
}

function movedClaimLine(r: FsVolumeRecord, target: string, input: VolumeComparisonInput): VolumeCheck {
  const claim = r.sourceClaim ?? '';
  const fill = input.movedClaims.find((x) => x.namespace === target && x.claim === claim);
  const base = {
    kind: 'moved-snapshot-data' as const,
    namespace: target,
    claim,
    checked: RESTIC_CHECKED,
    expected: { files: r.files, bytes: r.bytes },
  };
  if (fill === undefined) {
    const failure = input.itemFailures.get(`persistentvolumeclaims ${target}/${claim}`);
    return {
      ...base,
      result: 'failed',
      reason: failure
        ? `the claim was not restored: ${failure}`
        : 'the restore did not fill the claim from its moved snapshot data',
    };
  }
  return resticOutcome(base, fill);
}

function resticOutcome<T extends { expected: { files: number; bytes: number } }>(
  base: T,
  x: { result: 'succeeded' | 'failed'; error?: string; files?: number; bytes?: number; verified?: boolean },
): T & Pick<VolumeCheck, 'result' | 'reason' | 'files' | 'bytes'> {
  const counts = {
    ...(x.files !== undefined ? { files: x.files } : {}),
    ...(x.bytes !== undefined ? { bytes: x.bytes } : {}),
  };
  if (x.result !== 'succeeded') {
    return { ...base, ...counts, result: 'failed', reason: x.error ?? 'the restore of the volume failed' };
  }
  const { files, bytes } = base.expected;
  if (x.files !== files || x.bytes !== bytes) {
    return {
      ...base,
      ...counts,
      result: 'failed',
      reason: `restored ${x.files ?? '?'} files / ${x.bytes ?? '?'} bytes, but the backup recorded ${files} files / ${bytes} bytes`,
    };
  }
  if (x.verified !== true) {
    return {
      ...base,
      ...counts,
      result: 'failed',
      reason:
        'the node agent did not say it read the restored files back (is it older than this reconciler, without restic restore --verify?)',
    };
  }
  return { ...base, ...counts, result: 'passed' };
}

function csiLine(
  c: { namespace: string; claim: string; volumeSnapshot: string },
  target: string,
  input: VolumeComparisonInput,
): VolumeCheck {
  const base = {
    kind: 'csi-snapshot' as const,
    namespace: target,
    claim: c.claim,
    checked: `claim made from the backup's CSI snapshot ${c.namespace}/${c.volumeSnapshot} and Bound; its data was not read (the backup holds no copy of it to compare with)`,
  };
  const failure = input.itemFailures.get(`persistentvolumeclaims ${target}/${c.claim}`);
  if (failure !== undefined)
    return { ...base, result: 'failed', reason: `the claim was not restored: ${failure}` };
  const state = input.claim(target, c.claim);
  if (state === undefined)
    return { ...base, result: 'failed', reason: 'the claim is not in the scratch namespace' };
  if (state.fromSnapshot === undefined) {
    return {
      ...base,
      result: 'failed',
      reason: 'the claim was not made from a VolumeSnapshot (no spec.dataSource)',
    };
  }
  if (state.phase !== 'Bound') {
    return {
      ...base,
      result: 'failed',
      reason: `the claim is ${state.phase ?? 'Pending'}, not Bound: its volume was not provisioned from the snapshot`,
    };
  }
  return { ...base, result: 'passed' };
}
