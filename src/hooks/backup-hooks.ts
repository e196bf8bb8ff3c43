// Backup hooks around pods, as Velero runs them (pkg/backup/backup.go backupItemBlock): a pod's
// pre hooks run first; when a `Fail` hook fails, the pod's part of the backup fails with the
// reason and its post hooks do not run (Velero runs post hooks only for pods whose pre hooks
// succeeded); a failing `Continue` hook is a warning. Post hooks run after the pod's volumes
// are captured — even when capturing failed — or, for a pod without captured volumes, after the
// listing, which is that pod's backup.
//
// What each hook did (pod, container, command, exit code, duration, output) goes into the
// backup's log in the bucket only: output may hold anything, so errors and warnings, which
// reach Git status, carry the exit code and never the output.
import type { KubeClient } from '../kube/client.js';
import type { PodExecRequest, PodExecResult } from '../kube/pod-exec.js';
import type { KubeObject } from '../kube/types.js';
import type { RunLog } from '../observe/run-log.js';
import type { BackupSelection } from '../backup/selection.js';
import type { BackupHooks } from './spec.js';
import {
  BACKUP_VOLUMES_ANNOTATION,
  BACKUP_VOLUMES_EXCLUDES_ANNOTATION,
  type FsPodVolumes,
} from '../volumes/fs-backup-select.js';
import { backupHooksFor, type BackupHookPhase, type HookPod, type ResolvedExecHook } from './resolve.js';

/** A pod with hooks to run, as the listing before the backup found it. */
export interface HookedPod extends HookPod {
  /** Pod phase: hooks are not run in pods that have finished (Velero skips them too). */
  phase?: string;
  pre: ResolvedExecHook[];
  post: ResolvedExecHook[];
  /** Malformed annotations or hooks naming a container the pod lacks. */
  errors: string[];
  /** Names of the claims the pod mounts: the volume phase captures those pods (SEAM). */
  claims: string[];
  /** What choosing its file-system copies needs (fs-backup-select.ts): those pods are captured too. */
  fsVolumes: FsPodVolumes;
}

export interface HookItemError {
  namespace?: string;
  resource: 'pods';
  name?: string;
  message: string;
}

/** One hook run, as recorded in the backup's log. */
export interface HookRun {
  phase: BackupHookPhase;
  pod: string;
  container: string;
  command: string[];
  hook: string;
  onError: 'Continue' | 'Fail';
  exitCode?: number;
  durationMs: number;
  timedOut: boolean;
  failed: boolean;
  /** Why it failed, without output: safe for status. */
  reason?: string;
}

type Exec = (req: PodExecRequest) => Promise<PodExecResult>;

/** Bytes of each output stream kept for the log. */
const LOG_OUTPUT_BYTES = 4 * 1024;

export interface BackupPodHooksOptions {
  exec: Exec;
  runLog: RunLog;
}

/** The hooks of one backup attempt; errors, warnings and runs accumulate for its result. */
export class BackupPodHooks {
  readonly errors: HookItemError[] = [];
  readonly warnings: string[] = [];
  readonly runs: HookRun[] = [];
  private readonly pods = new Map<string, HookedPod>();
  /** Pods whose pre hooks ran and succeeded; their post hooks run after their backup. */
  private readonly awaitingPost = new Set<string>();
  /** Pods whose pre hooks ran before the listing (no captured volumes). */
  private readonly aroundListing = new Set<string>();
  /** Pods left to the volume phase, and those it brought through aroundPod. */
  private readonly leftToCapture = new Set<string>();
  private readonly seenByCapture = new Set<string>();

  constructor(
    pods: HookedPod[],
    private readonly opts: BackupPodHooksOptions,
  ) {
    for (const pod of pods) {
      this.pods.set(keyOf(pod), pod);
      for (const message of pod.errors) this.fail(pod, message);
    }
  }

  get size(): number {
    return this.pods.size;
  }

  /** Pre hooks of every pod whose volumes are not captured (`captured` says which are). */
  async beforeListing(captured: (pod: HookedPod) => boolean = () => false): Promise<void> {
    for (const pod of this.pods.values()) {
      if (pod.errors.length > 0) continue;
      if (captured(pod)) {
        this.leftToCapture.add(keyOf(pod));
        continue;
      }
      this.aroundListing.add(keyOf(pod));
      await this.runPre(pod);
    }
  }

  /**
   * Pods expected in the volume phase that it never brought through aroundPod (their claim was
   * gone by the listing, say): their hooks still run, pre then post, with a warning, so that a
   * hook is never silently skipped.
   */
  async afterVolumes(): Promise<void> {
    for (const key of this.leftToCapture) {
      const pod = this.pods.get(key);
      if (!pod || this.seenByCapture.has(key)) continue;
      this.warnings.push(
        `pod ${key}: no volume of it was captured, so its hooks ran after the backup's listing instead of around its volumes`,
      );
      if (await this.runPre(pod)) await this.runPost(pod);
    }
  }

  /** Post hooks of the pods whose pre hooks ran before the listing. */
  async afterListing(): Promise<void> {
    for (const key of this.aroundListing) {
      const pod = this.pods.get(key);
      if (pod) await this.runPost(pod);
    }
  }

  /**
   * The volume phase's aroundPod: pre hooks, capture, post hooks (even when capture fails).
   * When a `Fail` pre hook fails, nothing of the pod is captured and its post hooks do not run.
   */
  aroundPod = async <T>(
    pod: Pick<HookPod, 'namespace' | 'name'>,
    capture: () => Promise<T>,
  ): Promise<T | undefined> => {
    const hooked = this.pods.get(keyOf(pod));
    if (!hooked) return capture();
    this.seenByCapture.add(keyOf(pod));
    if (hooked.errors.length > 0) return undefined;
    if (!(await this.runPre(hooked))) return undefined;
    try {
      return await capture();
    } finally {
      await this.runPost(hooked);
    }
  };

  /** Whether the pod's backup may go on. */
  private async runPre(pod: HookedPod): Promise<boolean> {
    for (const hook of pod.pre) {
      const run = await this.run(pod, 'pre', hook);
      if (run.failed && hook.onError === 'Fail') return false;
    }
    this.awaitingPost.add(keyOf(pod));
    return true;
  }

  private async runPost(pod: HookedPod): Promise<void> {
    if (!this.awaitingPost.delete(keyOf(pod))) return;
    for (const hook of pod.post) {
      const run = await this.run(pod, 'post', hook);
      if (run.failed && hook.onError === 'Fail') return;
    }
  }

  private async run(pod: HookedPod, phase: BackupHookPhase, hook: ResolvedExecHook): Promise<HookRun> {
    const where = `${pod.namespace}/${pod.name}`;
    const base = {
      phase,
      pod: where,
      container: hook.container,
      command: hook.command,
      hook: hook.name,
      onError: hook.onError,
    };
    if (pod.phase === 'Succeeded' || pod.phase === 'Failed') {
      this.opts.runLog.add('info', `${phase} hook skipped: the pod has finished`, {
        ...base,
        podPhase: pod.phase,
      });
      return { ...base, durationMs: 0, timedOut: false, failed: false };
    }
    let result: PodExecResult | undefined;
    let reason: string | undefined;
    try {
      result = await this.opts.exec({
        namespace: pod.namespace,
        pod: pod.name,
        container: hook.container,
        command: hook.command,
        timeoutMs: hook.timeoutMs,
        maxOutputBytes: LOG_OUTPUT_BYTES,
      });
      reason = failureReason(result, hook.timeoutMs);
    } catch (err) {
      reason = `could not run: ${err instanceof Error ? err.message : String(err)}`;
    }
    const run: HookRun = {
      ...base,
      ...(result?.exitCode === undefined ? {} : { exitCode: result.exitCode }),
      durationMs: result?.durationMs ?? 0,
      timedOut: result?.timedOut ?? false,
      failed: reason !== undefined,
      ...(reason ? { reason } : {}),
    };
    this.runs.push(run);
    this.opts.runLog.add(
      reason ? (hook.onError === 'Fail' ? 'error' : 'warning') : 'info',
      `${phase} hook ${reason ? 'failed' : 'ran'}`,
      {
        ...base,
        exitCode: run.exitCode,
        durationMs: run.durationMs,
        timedOut: run.timedOut,
        reason,
        stdout: result ? withDropped(result.stdout, result.stdoutDropped) : undefined,
        stderr: result ? withDropped(result.stderr, result.stderrDropped) : undefined,
      },
    );
    if (reason) {
      const message = `${phase} hook ${hook.name} in container ${hook.container} failed: ${reason}`;
      if (hook.onError === 'Fail') this.fail(pod, message);
      else this.warnings.push(`pod ${where}: ${message} (onError: Continue)`);
    }
    return run;
  }

  private fail(pod: Pick<HookPod, 'namespace' | 'name'>, message: string): void {
    this.errors.push({ namespace: pod.namespace, resource: 'pods', name: pod.name, message });
  }
}

function keyOf(pod: Pick<HookPod, 'namespace' | 'name'>): string {
  return `${pod.namespace}/${pod.name}`;
}

function withDropped(text: string, dropped: number): string {
  return dropped > 0 ? `${text}… (${dropped} more bytes)` : text;
}

/** Why a hook failed (no output: it goes to the log only), or undefined when it succeeded. */
export function failureReason(result: PodExecResult, timeoutMs: number): string | undefined {
  if (result.timedOut) return `timed out after ${timeoutMs / 1000}s and was abandoned`;
  if (result.failure) return result.failure;
  if (result.exitCode === undefined) return 'ended without an exit code';
  return result.exitCode === 0 ? undefined : `exit code ${result.exitCode}`;
}

/** The small record of a listed pod that has hooks, or undefined when it has none. */
export function hookedPodOf(obj: KubeObject, hooks: BackupHooks | undefined): HookedPod | undefined {
  const spec = obj.spec as
    | {
        containers?: { name: string }[];
        volumes?: ({ name: string; persistentVolumeClaim?: { claimName?: string } } & Record<
          string,
          unknown
        >)[];
      }
    | undefined;
  const pod: HookPod = {
    namespace: obj.metadata.namespace ?? '',
    name: obj.metadata.name ?? '',
    ...(obj.metadata.labels ? { labels: obj.metadata.labels } : {}),
    ...(obj.metadata.annotations ? { annotations: obj.metadata.annotations } : {}),
    containers: (spec?.containers ?? []).map((c) => c.name),
  };
  const pre = backupHooksFor(pod, 'pre', hooks);
  const post = backupHooksFor(pod, 'post', hooks);
  if (pre.hooks.length + post.hooks.length + pre.errors.length + post.errors.length === 0) return undefined;
  // Only what hooks need is kept, never the whole pod (memory stays bounded).
  const { annotations: _a, ...small } = pod;
  const phase = (obj.status as { phase?: string } | undefined)?.phase;
  return {
    ...small,
    ...(phase ? { phase } : {}),
    pre: pre.hooks,
    post: post.hooks,
    errors: [...pre.errors, ...post.errors],
    claims: (spec?.volumes ?? []).flatMap((v) =>
      v.persistentVolumeClaim?.claimName ? [v.persistentVolumeClaim.claimName] : [],
    ),
    fsVolumes: {
      annotations: Object.fromEntries(
        [BACKUP_VOLUMES_ANNOTATION, BACKUP_VOLUMES_EXCLUDES_ANNOTATION].flatMap((k) => {
          const value = obj.metadata.annotations?.[k];
          return value === undefined ? [] : [[k, value]];
        }),
      ),
      volumes: (spec?.volumes ?? []).map((v) => ({
        name: v.name,
        type: Object.keys(v).find((k) => k !== 'name') ?? 'unknown',
      })),
    },
  };
}

/**
 * Find the pods of the backup that have hooks: the pods the selection would back up (same
 * namespaces, label selectors and exclusions), listed before the backup's revision is chosen.
 */
export async function findHookedPods(opts: {
  kube: Pick<KubeClient, 'list'>;
  selection: BackupSelection;
  hooks: BackupHooks | undefined;
}): Promise<HookedPod[]> {
  const target = opts.selection.types.find((t) => t.info.group === '' && t.info.resource === 'pods');
  if (!target) return [];
  const found: HookedPod[] = [];
  for (const namespace of target.namespaces ?? [undefined]) {
    let continueToken: string | undefined;
    do {
      const page = await opts.kube.list(target.info, {
        ...(namespace ? { namespace } : {}),
        limit: 500,
        ...(continueToken ? { continueToken } : {}),
        ...(opts.selection.serverLabelSelector ? { labelSelector: opts.selection.serverLabelSelector } : {}),
      });
      for (const obj of page.items) {
        const { filter } = opts.selection;
        if (!filter.includesNamespace(obj.metadata.namespace ?? '') || !filter.includesObject(obj)) continue;
        const hooked = hookedPodOf(obj, opts.hooks);
        if (hooked) found.push(hooked);
      }
      continueToken = page.continueToken;
    } while (continueToken);
  }
  return found;
}

/**
 * The hooks of one backup attempt: the pods with hooks found, or — when pods cannot be listed
 * (forbidden) — none, with that as an error of the backup: a backup whose freeze hooks could
 * not be looked for must not look complete.
 */
export async function prepareBackupHooks(opts: {
  kube: Pick<KubeClient, 'list' | 'exec'>;
  selection: BackupSelection;
  hooks: BackupHooks | undefined;
  runLog: RunLog;
}): Promise<BackupPodHooks> {
  const { kube, runLog } = opts;
  const options = { exec: (r: PodExecRequest) => kube.exec(r), runLog };
  try {
    const pods = await findHookedPods(opts);
    if (pods.length > 0) runLog.add('info', 'pods with hooks', { pods: pods.length });
    return new BackupPodHooks(pods, options);
  } catch (err) {
    const message = `cannot list pods to find their hooks: ${err instanceof Error ? err.message : String(err)}`;
    runLog.add('error', message);
    const none = new BackupPodHooks([], options);
    none.errors.push({ resource: 'pods', message });
    return none;
  }
}
