// Waiting for many objects of one resource at once: restored VolumeSnapshots until readyToUse,
// claims made from them until Bound. Each object has its own waiter (its own deadline, and its
// caller moves on the moment it is ready, as the driver's own restore does per volume), but
// the looks are shared: one LIST per namespace per look, however many objects wait there, so a
// restore of a hundred claims costs the apiserver what one claim does (cluster-scoped objects,
// such as VolumeSnapshotContents, are read one by one instead). The wait between looks
// is pollDelay's, measured from the youngest waiter, so a claim created late is looked at as
// promptly as the first one was.
import type { KubeClient } from '../kube/client.js';
import type { KubeObject, ResourceInfo } from '../kube/types.js';
import { pollPause, type PollDelay } from '../util/poll-delay.js';

export type WaitOutcome =
  | { state: 'ready'; object: KubeObject }
  /** The object is not in the cluster (deleted, or never created). */
  | { state: 'gone' }
  | { state: 'timeout' };

interface Waiter {
  name: string;
  since: number;
  deadline: number;
  resolve: (o: WaitOutcome) => void;
  reject: (err: unknown) => void;
}

export class ObjectWaits {
  private readonly waiting = new Map<string, Waiter[]>();
  private looking = false;

  constructor(
    private readonly o: {
      kube: KubeClient;
      info: ResourceInfo;
      ready: (obj: KubeObject) => boolean;
      /** The wait between two looks; pollDelay (util/poll-delay.ts) by default. */
      pollDelay?: PollDelay;
      /** Objects per page of a look; default 500. */
      pageSize?: number;
    },
  ) {}

  /** Resolves once `namespace/name` is ready or gone, or at `deadline` (epoch ms); rejects when a look fails. */
  wait(namespace: string, name: string, deadline: number): Promise<WaitOutcome> {
    return new Promise<WaitOutcome>((resolve, reject) => {
      const list = this.waiting.get(namespace) ?? [];
      list.push({ name, since: Date.now(), deadline, resolve, reject });
      this.waiting.set(namespace, list);
      if (!this.looking) {
        this.looking = true;
        void this.lookUntilDone();
      }
    });
  }

  private async lookUntilDone(): Promise<void> {
    try {
      while (this.waiting.size > 0) {
        for (const namespace of [...this.waiting.keys()]) await this.look(namespace);
        const all = [...this.waiting.values()].flat();
        if (all.length === 0) break;
        const youngest = Math.max(...all.map((w) => w.since));
        const deadline = Math.min(...all.map((w) => w.deadline));
        await pollPause(youngest, { deadline, ...(this.o.pollDelay ? { delay: this.o.pollDelay } : {}) });
      }
    } finally {
      this.looking = false;
    }
  }

  /** One look at a namespace; its waiters that are done are settled and dropped. */
  private async look(namespace: string): Promise<void> {
    const waiters = this.waiting.get(namespace) ?? [];
    let found: Map<string, KubeObject>;
    try {
      found =
        namespace === ''
          ? await this.getEach(waiters.map((w) => w.name))
          : await this.listNamespace(namespace);
    } catch (err) {
      this.waiting.delete(namespace);
      for (const w of waiters) w.reject(err);
      return;
    }
    const now = Date.now();
    // Waiters added while the list was on its way stay for the next look.
    const current = this.waiting.get(namespace) ?? [];
    const left = current.filter((w) => {
      if (!waiters.includes(w)) return true;
      const obj = found.get(w.name);
      if (obj === undefined) w.resolve({ state: 'gone' });
      else if (this.o.ready(obj)) w.resolve({ state: 'ready', object: obj });
      else if (now >= w.deadline) w.resolve({ state: 'timeout' });
      else return true;
      return false;
    });
    if (left.length > 0) this.waiting.set(namespace, left);
    else this.waiting.delete(namespace);
  }

  /**
   * Cluster-scoped objects are read one by one: a list would read every one of the cluster's
   * (all its VolumeSnapshotContents, say) to find the few waited for.
   */
  private async getEach(names: string[]): Promise<Map<string, KubeObject>> {
    const out = new Map<string, KubeObject>();
    const read = await Promise.all([...new Set(names)].map((n) => this.o.kube.get(this.o.info, '', n)));
    for (const obj of read) if (obj) out.set(obj.metadata.name ?? '', obj);
    return out;
  }

  private async listNamespace(namespace: string): Promise<Map<string, KubeObject>> {
    const out = new Map<string, KubeObject>();
    let continueToken: string | undefined;
    do {
      const page = await this.o.kube.list(this.o.info, {
        ...(namespace !== '' ? { namespace } : {}),
        limit: this.o.pageSize ?? 500,
        ...(continueToken ? { continueToken } : {}),
      });
      for (const obj of page.items) out.set(obj.metadata.name ?? '', obj);
      continueToken = page.continueToken;
    } while (continueToken);
    return out;
  }
}
