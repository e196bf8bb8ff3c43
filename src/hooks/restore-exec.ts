// Restore exec hooks, run once the restore has written every object (Velero's
// WaitExecHookHandler): for each created pod with exec hooks, wait until the hook's container
// is running (or ready, with waitForReady) — at most waitTimeout, else as long as the restore
// allows — then run the hook. `Fail` fails the pod's item; `Continue` is logged as a warning.
import type { KubeClient } from '../kube/client.js';
import type { ResourceInfo } from '../kube/types.js';
import type { RunLog } from '../observe/run-log.js';
import { failureReason } from './backup-hooks.js';
import type { PlannedHook } from './restore-hooks.js';

export interface RestoreHookRun {
  pod: string;
  container: string;
  command: string[];
  hook: string;
  onError: 'Continue' | 'Fail';
  exitCode?: number;
  durationMs: number;
  timedOut: boolean;
  failed: boolean;
  reason?: string;
}

const PODS: ResourceInfo = {
  group: '',
  version: 'v1',
  resource: 'pods',
  kind: 'Pod',
  namespaced: true,
  verbs: ['get'],
  shortNames: [],
  singularName: 'pod',
  preferredVersion: 'v1',
};

/** How long a hook without waitTimeout waits for its container (the restore's own bound). */
export const DEFAULT_HOOK_WAIT_MS = 10 * 60_000;
const POLL_MS = 1_000;

interface ContainerStatus {
  name: string;
  ready?: boolean;
  state?: { running?: unknown };
}

async function waitForContainer(o: {
  kube: Pick<KubeClient, 'get'>;
  namespace: string;
  name: string;
  container: string;
  ready: boolean;
  timeoutMs: number;
}): Promise<string | undefined> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const pod = await o.kube.get(PODS, o.namespace, o.name).catch(() => null);
    const statuses =
      (pod?.status as { containerStatuses?: ContainerStatus[] } | undefined)?.containerStatuses ?? [];
    const s = statuses.find((c) => c.name === o.container);
    if (s && (o.ready ? s.ready === true : s.state?.running !== undefined)) return undefined;
    if (Date.now() > deadline)
      return `container ${o.container} was not ${o.ready ? 'ready' : 'running'} within ${o.timeoutMs / 1000}s`;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export async function runRestoreExecHooks(o: {
  kube: Pick<KubeClient, 'get' | 'exec'>;
  pods: { namespace: string; name: string; hooks: PlannedHook[] }[];
  runLog: RunLog;
}): Promise<{ runs: RestoreHookRun[]; failed: Map<string, string> }> {
  const runs: RestoreHookRun[] = [];
  /** "ns/name" → why the pod's restore failed (a Fail hook). */
  const failed = new Map<string, string>();
  // Pods wait for their containers in parallel; one pod's hooks run in order.
  await Promise.all(
    o.pods.map(async (pod) => {
      const where = `${pod.namespace}/${pod.name}`;
      for (const hook of pod.hooks) {
        if (hook.type !== 'exec') continue;
        const onError = hook.onError ?? 'Continue';
        const base = {
          pod: where,
          container: hook.container,
          command: hook.command,
          hook: hook.hook,
          onError,
        };
        let reason = await waitForContainer({
          kube: o.kube,
          namespace: pod.namespace,
          name: pod.name,
          container: hook.container,
          ready: hook.waitForReady === true,
          timeoutMs: hook.waitTimeoutMs ? hook.waitTimeoutMs : DEFAULT_HOOK_WAIT_MS,
        });
        let run: RestoreHookRun = { ...base, durationMs: 0, timedOut: false, failed: false };
        let output: { stdout?: string; stderr?: string } = {};
        if (reason === undefined) {
          try {
            const timeoutMs = hook.execTimeoutMs ?? 30_000;
            const r = await o.kube.exec({
              namespace: pod.namespace,
              pod: pod.name,
              container: hook.container,
              command: hook.command,
              timeoutMs,
              maxOutputBytes: 4 * 1024,
            });
            reason = failureReason(r, timeoutMs);
            output = { stdout: r.stdout, stderr: r.stderr };
            run = {
              ...run,
              ...(r.exitCode === undefined ? {} : { exitCode: r.exitCode }),
              durationMs: r.durationMs,
              timedOut: r.timedOut,
            };
          } catch (err) {
            reason = `could not run: ${err instanceof Error ? err.message : String(err)}`;
          }
        }
        if (reason !== undefined) run = { ...run, failed: true, reason };
        runs.push(run);
        // Output goes to the restore's log in the bucket only, never to the result in Git.
        o.runLog.add(
          reason ? (onError === 'Fail' ? 'error' : 'warning') : 'info',
          `exec hook ${reason ? 'failed' : 'ran'}`,
          {
            ...base,
            exitCode: run.exitCode,
            durationMs: run.durationMs,
            reason,
            ...output,
          },
        );
        if (reason !== undefined && onError === 'Fail') {
          failed.set(where, `exec hook ${hook.hook} in container ${hook.container} failed: ${reason}`);
          return;
        }
      }
    }),
  );
  return { runs, failed };
}
