// Whether a backup's CSI snapshot still exists, asked before a plan promises a volume from it.
// Velero deletes its VolumeSnapshotContents once a backup is done (keeping the snapshot), so a
// missing content says nothing; only the driver knows. The check:
//   1. a VolumeSnapshotContent in the cluster carries the handle → it exists;
//   2. otherwise a probe: a static VolumeSnapshotContent (deletionPolicy Retain, bound to no
//      VolumeSnapshot) with the handle, which makes the csi-snapshotter ask the driver
//      (ListSnapshots by id): readyToUse → it exists; an error ("can not find snapshot") → it
//      is gone, with the driver's words; no answer in time → unknown. The probe is deleted at
//      once; Retain means deleting it never deletes the snapshot (ADR 0022).
import { createHash } from 'node:crypto';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/client.js';
import type { KubeObject, ResourceInfo } from '../kube/types.js';
import { VOLUME_SNAPSHOT_CONTENTS } from './csi-restore.js';
import { isJsonMap } from './strategic-merge.js';

export type SnapshotState =
  { state: 'exists'; how: string } | { state: 'gone'; reason: string } | { state: 'unknown'; reason: string };

export interface SnapshotRef {
  handle: string;
  driver: string;
}

function field(obj: unknown, ...path: string[]): unknown {
  let at: unknown = obj;
  for (const p of path) at = isJsonMap(at) ? at[p] : undefined;
  return at;
}

function handleOf(vsc: KubeObject): string | undefined {
  const h = field(vsc, 'status', 'snapshotHandle') ?? field(vsc, 'spec', 'source', 'snapshotHandle');
  return typeof h === 'string' ? h : undefined;
}

export const PROBE_LABEL = 'lifeboat.dev/snapshot-probe';

/** A checker that reads the cluster's contents once and probes each unknown handle once. */
export function snapshotChecker(o: {
  kube: KubeClient;
  served: Map<string, ResourceInfo>;
  /** How long to wait for the driver's answer to a probe; default 60 s. */
  probeTimeoutMs?: number;
  pollMs?: number;
}): (ref: SnapshotRef) => Promise<SnapshotState> {
  const info = o.served.get(VOLUME_SNAPSHOT_CONTENTS);
  let known: Promise<Map<string, KubeObject>> | undefined;
  const results = new Map<string, Promise<SnapshotState>>();
  const contents = async (): Promise<Map<string, KubeObject>> => {
    const byHandle = new Map<string, KubeObject>();
    if (!info) return byHandle;
    let cont: string | undefined;
    do {
      const page = await o.kube.list(info, { limit: 500, ...(cont ? { continueToken: cont } : {}) });
      for (const vsc of page.items) {
        const h = handleOf(vsc);
        if (h !== undefined) byHandle.set(h, vsc);
      }
      cont = page.continueToken;
    } while (cont);
    return byHandle;
  };
  const check = async (ref: SnapshotRef): Promise<SnapshotState> => {
    if (!info) {
      return { state: 'gone', reason: `the cluster does not serve ${VOLUME_SNAPSHOT_CONTENTS}` };
    }
    known ??= contents();
    const existing = (await known).get(ref.handle);
    if (existing && field(existing, 'spec', 'driver') === ref.driver && !field(existing, 'status', 'error')) {
      return { state: 'exists', how: `VolumeSnapshotContent ${existing.metadata.name ?? ''} holds it` };
    }
    return probe(o.kube, info, ref, { timeoutMs: o.probeTimeoutMs ?? 60_000, pollMs: o.pollMs ?? 500 });
  };
  return (ref) => {
    const key = `${ref.driver}\u0000${ref.handle}`;
    let result = results.get(key);
    if (!result) {
      result = check(ref);
      results.set(key, result);
    }
    return result;
  };
}

async function probe(
  kube: KubeClient,
  info: ResourceInfo,
  ref: SnapshotRef,
  timing: { timeoutMs: number; pollMs: number },
): Promise<SnapshotState> {
  const { timeoutMs, pollMs } = timing;
  const name = `lifeboat-probe-${createHash('sha256').update(`${ref.driver}/${ref.handle}`).digest('hex').slice(0, 40)}`;
  const body: KubeObject = {
    apiVersion: `${info.group}/${info.version}`,
    kind: 'VolumeSnapshotContent',
    metadata: { name, labels: { [PROBE_LABEL]: 'true' } },
    spec: {
      deletionPolicy: 'Retain',
      driver: ref.driver,
      source: { snapshotHandle: ref.handle },
      // Bound to no VolumeSnapshot: a name no snapshot has, so no controller binds it.
      volumeSnapshotRef: { namespace: 'default', name },
    },
  };
  try {
    await kube.create(info, body);
  } catch (err) {
    if (!(err instanceof KubeApiError && err.reason === 'AlreadyExists')) {
      return {
        state: 'unknown',
        reason: `could not ask the driver: ${err instanceof Error ? err.message : String(err)}`,
      };
    }
  }
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const live = await kube.get(info, '', name);
      const status = isJsonMap(live?.status) ? live.status : {};
      if (status.readyToUse === true)
        return { state: 'exists', how: `driver ${ref.driver} reports it ready` };
      const message = field(status, 'error', 'message');
      const error = field(status, 'error');
      if (error !== undefined) {
        const text = typeof message === 'string' ? message : JSON.stringify(error);
        return { state: 'gone', reason: `driver ${ref.driver}: ${text}` };
      }
      if (Date.now() > deadline) {
        return {
          state: 'unknown',
          reason: `driver ${ref.driver} did not answer within ${Math.round(timeoutMs / 1000)} s`,
        };
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    await kube.delete(info, '', name).catch(() => undefined);
  }
}
