// Apply's part of restoring claims whose snapshot data the backup moved into restic
// (moved-claims.ts, ADR 0034): right after the claims' tier is created, and before the pods of
// later tiers, each such claim is mounted by a short-lived pod (src/volumes/mover-pod.ts) and
// filled by the node agent from its restic snapshot with one PodVolumeRestore
// (pod-volume-restores.ts), which checks files, directories and bytes against the backup's
// record. The pod is then deleted and waited for. A claim that could not be filled fails its
// item, naming the claim and why.
import type { KubeClient } from '../kube/client.js';
import type { RunLog } from '../observe/run-log.js';
import {
  DATA_MOVER_LABEL,
  deleteAndWait,
  MOVER_VOLUME,
  moverName,
  moverPod,
  PODS,
  SOURCE_CLAIM_ANNOTATION,
  startMoverPod,
} from '../volumes/mover-pod.js';
import { RESTORE_NAME_LABEL } from '../volumes/pod-volume-types.js';
import { labelValue } from '../volumes/csi-capturer.js';
import type { MovedClaimCopy } from './moved-claims.js';
import { restorePodVolumes, type FsRestoreConfig } from './pod-volume-restores.js';

/** Why no moved claim can be filled when the restore has no repository. */
export const NO_FILL_REPOSITORY =
  'no restic repository is configured for this restore (the storage location names no restic password Secret), so the node agent cannot fill it';

export interface MovedClaimFill {
  /** The claim in its target namespace. */
  namespace: string;
  claim: string;
  result: 'succeeded' | 'failed';
  error?: string;
  snapshotId: string;
  files?: number;
  bytes?: number;
  /** restic read the filled files back and they matched the snapshot (FsRestoreConfig.verify). */
  verified?: boolean;
}

export interface FillMovedClaimsOptions {
  kube: KubeClient;
  restoreName: string;
  /** The created claims (target namespace) and the restic snapshot each is filled from. */
  claims: { namespace: string; claim: string; copy: MovedClaimCopy }[];
  config?: FsRestoreConfig;
  /** The short-lived pod's image (needs sh and sleep). */
  image: string;
  runLog: RunLog;
  /** How long the pod may take to run (its claim is provisioned first); default 10 min. */
  startTimeoutMs?: number;
}

function text(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One outcome per claim; all claims at once (the agent takes one volume at a time per node). */
export async function fillMovedClaims(o: FillMovedClaimsOptions): Promise<MovedClaimFill[]> {
  const fills = await Promise.all(o.claims.map((c) => fillOne(c, o)));
  for (const x of fills) {
    const where = { namespace: x.namespace, claim: x.claim, snapshotID: x.snapshotId };
    if (x.result === 'succeeded') {
      o.runLog.add('info', 'moved claim filled', { ...where, files: x.files ?? 0, bytes: x.bytes ?? 0 });
    } else {
      o.runLog.add('error', 'moved claim not filled', { ...where, error: x.error ?? '' });
    }
  }
  return fills;
}

async function fillOne(
  c: { namespace: string; claim: string; copy: MovedClaimCopy },
  o: FillMovedClaimsOptions,
): Promise<MovedClaimFill> {
  const base = { namespace: c.namespace, claim: c.claim, snapshotId: c.copy.snapshotId };
  const fail = (error: string): MovedClaimFill => ({
    ...base,
    result: 'failed',
    error: `claim ${c.namespace}/${c.claim} was not filled from restic snapshot ${c.copy.snapshotId.slice(0, 12)}: ${error}`,
  });
  const config = o.config;
  if (!config) return fail(NO_FILL_REPOSITORY);
  const name = moverName({ kind: 'restore', owner: o.restoreName, namespace: c.namespace, claim: c.claim });
  const pollMs = config.pollMs ?? 1_000;
  try {
    await startMoverPod(
      o.kube,
      moverPod({
        namespace: c.namespace,
        name,
        claim: c.claim,
        image: o.image,
        readOnly: false,
        labels: { [DATA_MOVER_LABEL]: 'restore', [RESTORE_NAME_LABEL]: labelValue(o.restoreName) },
        annotations: { [SOURCE_CLAIM_ANNOTATION]: c.claim },
      }),
      { timeoutMs: o.startTimeoutMs ?? 600_000, pollMs },
    );
    const [restored] = await restorePodVolumes({
      kube: o.kube,
      restoreName: o.restoreName,
      pods: [
        {
          namespace: c.namespace,
          name,
          volumes: [
            {
              volume: MOVER_VOLUME,
              claim: c.claim,
              sourceNamespace: c.copy.sourceNamespace,
              snapshotId: c.copy.snapshotId,
              files: c.copy.files,
              dirs: c.copy.dirs,
              bytes: c.copy.bytes,
              action: 'restore',
            },
          ],
        },
      ],
      config,
      runLog: o.runLog,
    });
    if (!restored || restored.result !== 'succeeded') return fail(restored?.error ?? 'no outcome');
    return {
      ...base,
      result: 'succeeded',
      ...(restored.files !== undefined ? { files: restored.files } : {}),
      ...(restored.bytes !== undefined ? { bytes: restored.bytes } : {}),
      ...(restored.verified ? { verified: true } : {}),
    };
  } catch (err) {
    return fail(text(err));
  } finally {
    const left = await deleteAndWait(o.kube, [{ info: PODS, namespace: c.namespace, name }], {
      timeoutMs: 300_000,
      pollMs,
    });
    for (const w of left) o.runLog.add('warning', `moved claim ${c.namespace}/${c.claim}: ${w}`);
  }
}
