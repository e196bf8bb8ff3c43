// `lifeboat agent`: the node agent. It lists the PodVolumeBackups and PodVolumeRestores labelled
// with its node, takes each new one (an optimistic status update, so two agents never run the
// same one), reads or fills the pod's volume in the kubelet's pod directory with restic, and
// writes phase, progress, snapshot id and errors to the object's status. One volume at a time:
// memory and disk bandwidth stay bounded on the node.
import { hostname } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/client.js';
import type { ResourceInfo } from '../kube/types.js';
import type { Logger } from '../observe/logger.js';
import { resolveRepository } from './agent-repository.js';
import { watchForWork, Wakeup } from './agent-wakeup.js';
import { podVolumeDir } from './pod-volume-path.js';
import {
  NODE_LABEL,
  POD_VOLUME_BACKUP,
  POD_VOLUME_RESTORE,
  type PodVolumeBackup,
  type PodVolumeRestore,
  type PodVolumeStatus,
} from './pod-volume-types.js';
import {
  backupDirectory,
  ensureRepository,
  ResticError,
  restoreSnapshot,
  unlockStale,
  type ResticOptions,
} from './restic.js';
import { withStaleLocksCleared } from './repository-maintenance.js';
import { explainRestoreFailure, inspectTarget, targetProblem } from './restore-target.js';
import type { ResticBackupSummary, ResticProgress } from './restic-output.js';

export const FIELD_MANAGER = 'lifeboat-agent';
/**
 * The directory in a restored volume where the agent leaves a file named for the restore
 * (spec.restoreName) when the volume is filled and verified; the pod's restore-wait init
 * container waits for it, as Velero's restore-helper waits for .velero/<restore uid>.
 */
export const RESTORE_MARKER_DIR = '.lifeboat-restore';

export interface AgentOptions {
  kube: KubeClient;
  /** This node's name (the Node object's). */
  node: string;
  /** The kubelet's --root-dir as this process sees it (a hostPath mount in the DaemonSet). */
  kubeletRootDir: string;
  restic: ResticOptions;
  log: Logger;
  /**
   * How often to look for new work without being told (default 30 s). A watch tells the agent
   * of new work at once; this poll is the fallback while the watch is down.
   */
  pollMs?: number;
  /** How often progress is written to the status at most (default 2 s). */
  progressEveryMs?: number;
  clock?: () => Date;
  /**
   * The namespace whose PodVolumeBackups and PodVolumeRestores this agent takes: lifeboat's own,
   * as Velero's node agent watches only its namespace. Two agents of one node must not share
   * one, because an agent that starts fails the work it finds InProgress there (failInterrupted).
   */
  namespace: string;
}

type Kind = 'backup' | 'restore';
type Item = PodVolumeBackup | PodVolumeRestore;

function infoOf(kind: Kind): ResourceInfo {
  return kind === 'backup' ? POD_VOLUME_BACKUP : POD_VOLUME_RESTORE;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class NodeAgent {
  private readonly clock: () => Date;

  constructor(private readonly o: AgentOptions) {
    this.clock = o.clock ?? (() => new Date());
  }

  /** Runs until the signal aborts; finishes the volume in hand first. */
  async run(signal: AbortSignal): Promise<void> {
    await this.failInterrupted();
    this.o.log.info({ node: this.o.node, namespace: this.o.namespace }, 'node agent started');
    const wakeup = new Wakeup();
    const watching = watchForWork({
      kube: this.o.kube,
      resources: [POD_VOLUME_BACKUP, POD_VOLUME_RESTORE],
      namespace: this.o.namespace,
      labelSelector: `${NODE_LABEL}=${this.o.node}`,
      signal,
      onNew: () => wakeup.notify(),
      onError: (resource, err) =>
        this.o.log.warn(
          { resource, error: errorText(err) },
          'watching for volume work failed; polling meanwhile',
        ),
    });
    const pollMs = this.o.pollMs ?? 30_000;
    while (!signal.aborted) {
      let failed = false;
      try {
        const did = await this.once();
        if (did > 0) continue;
      } catch (err) {
        failed = true;
        this.o.log.warn({ error: errorText(err) }, 'looking for volume work failed; trying again');
      }
      await wakeup.wait(failed ? Math.min(pollMs, 2_000) : pollMs, signal);
    }
    await watching;
  }

  private async list(kind: Kind): Promise<Item[]> {
    const page = await this.o.kube.list(infoOf(kind), {
      namespace: this.o.namespace,
      labelSelector: `${NODE_LABEL}=${this.o.node}`,
    });
    return page.items as Item[];
  }

  /**
   * An object InProgress when this agent starts was being worked on by an agent of this node
   * that is gone (killed, node restarted): restic's work on it is lost. It is marked Failed, as
   * Velero's node-agent does, so the backup that waits for it ends PartiallyFailed instead of
   * waiting for ever. The killed restic left its lock in the repository: restic does not
   * ignore it (a prune or check would stop at it), so it is removed here with `restic unlock`,
   * which removes only the locks restic judges stale — this host's, of a process that no longer
   * runs — never a live agent's (clearStaleLocks).
   */
  async failInterrupted(): Promise<void> {
    const repositories = new Map<string, Item['spec']['repository']>();
    for (const kind of ['backup', 'restore'] as const) {
      for (const item of await this.list(kind)) {
        if (item.status?.phase !== 'InProgress') continue;
        await this.setStatus(kind, item, {
          phase: 'Failed',
          message: `volume ${item.spec.volume} of pod ${item.spec.pod.namespace}/${item.spec.pod.name}: the node agent stopped during the ${kind} (restarted); its work was lost`,
          completionTimestamp: this.clock().toISOString(),
        }).catch(() => undefined);
        const r = item.spec.repository;
        repositories.set(JSON.stringify([r.s3Url, r.bucket, r.prefix, r.volumeNamespace]), r);
      }
    }
    for (const spec of repositories.values()) await this.clearStaleLocks(spec);
  }

  /** `restic unlock` (stale locks only) on one repository; a failure is logged, never fatal. */
  private async clearStaleLocks(spec: Item['spec']['repository']): Promise<void> {
    const where = { namespace: spec.volumeNamespace, bucket: spec.bucket, prefix: spec.prefix };
    try {
      const removed = await unlockStale(await resolveRepository(this.o.kube, spec), this.o.restic);
      if (removed > 0)
        this.o.log.warn({ ...where, removed }, 'removed stale restic locks of an interrupted run');
    } catch (err) {
      this.o.log.warn({ ...where, error: errorText(err) }, 'could not clear stale restic locks');
    }
  }

  /** Takes and finishes every new object of this node once; returns how many. */
  async once(): Promise<number> {
    let done = 0;
    for (const kind of ['backup', 'restore'] as const) {
      for (const item of await this.list(kind)) {
        const phase = item.status?.phase ?? 'New';
        if (phase !== 'New') continue;
        if (!(await this.claim(kind, item))) continue;
        await this.work(kind, item);
        done++;
      }
    }
    return done;
  }

  /** InProgress with the resourceVersion as precondition: only one agent wins. */
  private async claim(kind: Kind, item: Item): Promise<boolean> {
    try {
      const updated = await this.o.kube.mergePatch(
        infoOf(kind),
        { namespace: item.metadata.namespace ?? '', name: item.metadata.name ?? '' },
        {
          metadata: { resourceVersion: item.metadata.resourceVersion },
          status: { phase: 'InProgress', startTimestamp: this.clock().toISOString() },
        },
        { fieldManager: FIELD_MANAGER, subresource: 'status' },
      );
      item.metadata.resourceVersion = updated.metadata.resourceVersion;
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && (err.status === 409 || err.status === 404)) return false;
      throw err;
    }
  }

  private async setStatus(kind: Kind, item: Item, status: Record<string, unknown>): Promise<void> {
    await this.o.kube.mergePatch(
      infoOf(kind),
      { namespace: item.metadata.namespace ?? '', name: item.metadata.name ?? '' },
      { status },
      { fieldManager: FIELD_MANAGER, subresource: 'status' },
    );
  }

  /** Progress, written at most every progressEveryMs; writes never overlap. */
  private progressWriter(kind: Kind, item: Item): (p: ResticProgress) => void {
    let last = 0;
    let writing = false;
    return (p) => {
      const now = Date.now();
      if (writing || now - last < (this.o.progressEveryMs ?? 2_000)) return;
      last = now;
      writing = true;
      this.setStatus(kind, item, { progress: { bytesDone: p.bytesDone, totalBytes: p.bytesTotal } })
        .catch(() => undefined)
        .finally(() => {
          writing = false;
        });
    };
  }

  private async work(kind: Kind, item: Item): Promise<void> {
    const { spec } = item;
    const what = `volume ${spec.volume} of pod ${spec.pod.namespace}/${spec.pod.name}`;
    const log = this.o.log.child({ [kind]: item.metadata.name, volume: spec.volume, pod: spec.pod.name });
    log.info(`${kind} of a pod volume started`);
    let status: PodVolumeStatus & Record<string, unknown>;
    // How long restic itself ran: the rest of the item's time is the agent's (bench/volumes-fs.ts).
    const timing = { resticMs: 0 };
    try {
      status =
        kind === 'backup'
          ? await this.backup(item as PodVolumeBackup, timing)
          : await this.restore(item as PodVolumeRestore, timing);
      log.info(
        { files: status.files, bytes: status.bytes, resticSeconds: timing.resticMs / 1000 },
        `${kind} of a pod volume completed`,
      );
    } catch (err) {
      const message = `${what}: ${errorText(err)}`;
      log.error({ error: message }, `${kind} of a pod volume failed`);
      status = { phase: 'Failed', message };
    }
    await this.setStatus(kind, item, { ...status, completionTimestamp: this.clock().toISOString() });
  }

  private async volumeDir(item: Item): Promise<string> {
    const { spec } = item;
    return podVolumeDir({
      kubeletRootDir: this.o.kubeletRootDir,
      podUid: spec.pod.uid,
      pod: `${spec.pod.namespace}/${spec.pod.name}`,
      volume: spec.volume,
      ...(spec.persistentVolume ? { persistentVolume: spec.persistentVolume } : {}),
    });
  }

  private async backup(
    item: PodVolumeBackup,
    timing: { resticMs: number },
  ): Promise<PodVolumeStatus & Record<string, unknown>> {
    const { spec } = item;
    const dir = await this.volumeDir(item);
    const repo = await resolveRepository(this.o.kube, spec.repository);
    const lockOpts = {
      ...this.o.restic,
      onUnlocked: (removed: number) => this.o.log.warn({ removed }, 'removed stale restic locks'),
    };
    // A stale exclusive lock (a prune or check killed midway) would refuse the backup: cleared.
    const backup = () =>
      withStaleLocksCleared(repo, lockOpts, () =>
        backupDirectory(repo, {
          ...this.o.restic,
          dir,
          // The snapshot's host is the pod, not the node: a later backup of the same pod on another
          // node finds its parent snapshot, as Velero's does.
          host: `${spec.pod.namespace}/${spec.pod.name}`.replace(/[^A-Za-z0-9._/-]/g, '_'),
          excludeMarker: RESTORE_MARKER_DIR,
          tags: {
            backup: spec.backupName,
            ns: spec.pod.namespace,
            pod: spec.pod.name,
            'pod-uid': spec.pod.uid,
            volume: spec.volume,
            node: hostname(),
          },
          onProgress: this.progressWriter('backup', item),
        }),
      );
    const resticStart = performance.now();
    let summary: ResticBackupSummary;
    try {
      summary = await backup();
    } catch (err) {
      // The repository is made on first use. Backing up first, instead of asking restic whether
      // it exists before every backup, saves a restic start and a key derivation (the slow part
      // of opening a repository, by design) on every backup but a repository's first.
      if (!(err instanceof ResticError) || err.failure !== 'no-repository') throw err;
      await ensureRepository(repo, this.o.restic);
      summary = await backup();
    }
    timing.resticMs = performance.now() - resticStart;
    return {
      phase: 'Completed',
      snapshotID: summary.snapshotId,
      path: dir,
      files: summary.files,
      dirs: summary.dirs,
      bytes: summary.bytes,
      dataAdded: summary.dataAdded,
      progress: { bytesDone: summary.bytes, totalBytes: summary.bytes },
    };
  }

  private async restore(
    item: PodVolumeRestore,
    timing: { resticMs: number },
  ): Promise<PodVolumeStatus & Record<string, unknown>> {
    const { spec } = item;
    // It names the marker file below: never a path.
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(spec.restoreName) || spec.restoreName.includes('..')) {
      throw new Error(`spec.restoreName ${JSON.stringify(spec.restoreName)} is not a valid object name`);
    }
    const dir = await this.volumeDir(item);
    const expected = spec.expected;
    // A read-only or too small volume is refused before restic writes a file into it.
    const problem = targetProblem(await inspectTarget(dir), expected?.bytes ?? 0);
    if (problem) throw new Error(problem);
    const repo = await resolveRepository(this.o.kube, spec.repository);
    const resticStart = performance.now();
    const summary = await restoreSnapshot(repo, {
      ...this.o.restic,
      snapshotId: spec.snapshotID,
      target: dir,
      ...(spec.verify === true ? { verify: true } : {}),
      onProgress: this.progressWriter('restore', item),
    }).catch((err: unknown) => {
      throw new Error(explainRestoreFailure(errorText(err)));
    });
    timing.resticMs = performance.now() - resticStart;
    if (
      expected &&
      (summary.entries !== expected.files + expected.dirs || summary.bytes !== expected.bytes)
    ) {
      // Nothing half-restored is shown as success: the pod's init container keeps waiting.
      throw new Error(
        `restored ${summary.entries} files and directories / ${summary.bytes} bytes, but the backup recorded ` +
          `${expected.files} files, ${expected.dirs} directories / ${expected.bytes} bytes`,
      );
    }
    // The restore-helper init container of the pod waits for this file, then the workload starts.
    const markerDir = join(dir, RESTORE_MARKER_DIR);
    await mkdir(markerDir, { recursive: true });
    await writeFile(join(markerDir, spec.restoreName), '');
    return {
      phase: 'Completed',
      ...(expected ? { files: expected.files, dirs: expected.dirs } : {}),
      bytes: summary.bytes,
      // restic exits non-zero when a file read back differs, so reaching here means it matched.
      ...(spec.verify === true ? { verified: true } : {}),
      progress: { bytesDone: summary.bytes, totalBytes: summary.bytes },
    };
  }
}
