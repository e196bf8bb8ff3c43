// How the node agent learns of new work at once: a watch on its PodVolumeBackups and
// PodVolumeRestores wakes its loop when one appears that nobody has taken yet, instead of the
// loop finding it at its next poll (up to a poll interval later: at 2 s, a small volume's
// restore took 18% longer than restic alone). The poll stays, less often, as the fallback for
// a watch that is down.
import type { KubeClient } from '../kube/client.js';
import type { ResourceInfo } from '../kube/types.js';

/** A wake-up call that is not lost: one given while nobody waits ends the next wait at once. */
export class Wakeup {
  private pending = false;
  private waiting: (() => void) | undefined;

  notify(): void {
    this.pending = true;
    this.waiting?.();
  }

  /** Waits until notified (since the last wait ended), ms have passed or the signal aborts. */
  async wait(ms: number, signal: AbortSignal): Promise<void> {
    if (!this.pending && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const end = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', end);
          this.waiting = undefined;
          resolve();
        };
        const timer = setTimeout(end, ms);
        signal.addEventListener('abort', end);
        this.waiting = end;
      });
    }
    this.pending = false;
  }
}

/** Whether a watched object is one the agent has still to take (its phase is New). */
export function isNewWork(status: unknown): boolean {
  const phase = (status as { phase?: unknown } | undefined)?.phase;
  return phase === undefined || phase === 'New';
}

/**
 * Watches each resource (in namespace, with the selector) until the signal aborts, calling
 * onNew for every object added or changed while still New. A watch that ends is started
 * again without a resourceVersion: the server then lists what is there first, so nothing
 * added in between is missed. A failed one is logged through onError and tried again after
 * retryMs.
 */
export async function watchForWork(o: {
  kube: KubeClient;
  resources: readonly ResourceInfo[];
  namespace: string;
  labelSelector: string;
  signal: AbortSignal;
  onNew: () => void;
  onError: (resource: string, err: unknown) => void;
  retryMs?: number;
}): Promise<void> {
  const one = async (info: ResourceInfo): Promise<void> => {
    while (!o.signal.aborted) {
      const started = Date.now();
      try {
        await o.kube.watch(
          info,
          { namespace: o.namespace, labelSelector: o.labelSelector, signal: o.signal },
          (e) => {
            if ((e.type === 'ADDED' || e.type === 'MODIFIED') && isNewWork(e.object.status)) o.onNew();
          },
        );
      } catch (err) {
        if (o.signal.aborted) return;
        o.onError(info.resource, err);
        await new Wakeup().wait(o.retryMs ?? 5_000, o.signal);
        continue;
      }
      // A watch the server ends at once, again and again, must not become a busy loop.
      if (Date.now() - started < 1_000) await new Wakeup().wait(o.retryMs ?? 5_000, o.signal);
    }
  };
  await Promise.all(o.resources.map(one));
}
