// One reconciler at a time. In a cluster: a coordination.k8s.io Lease, whose resourceVersion
// makes taking it a compare-and-swap. Elsewhere: a lock object in the bucket, renewed every
// pass and taken over once it has not been renewed for its duration.
import { hostname } from 'node:os';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/client.js';
import type { KubeObject, ResourceInfo } from '../kube/types.js';
import type { BackupStore } from '../storage/store.js';
import { readSmallObject, StoreNotFoundError } from '../storage/store.js';
import { LEGACY_LOCK_KEY, LOCK_KEY } from '../storage/layout.js';

export interface Leadership {
  readonly identity: string;
  /** Take or renew leadership; false while another holder's claim is still fresh. */
  tryAcquire(now: Date): Promise<boolean>;
  release(): Promise<void>;
  describe(): string;
}

export function defaultIdentity(): string {
  return process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
}

interface LockRecord {
  holder: string;
  renewedAt: string;
  durationSeconds: number;
}

function fresh(record: LockRecord, now: Date): boolean {
  return now.getTime() - Date.parse(record.renewedAt) < record.durationSeconds * 1000;
}

/** A lock object in a backup location (object stores have no compare-and-swap: write, then read back). */
export class BucketLock implements Leadership {
  constructor(
    private readonly store: BackupStore,
    readonly identity: string,
    private readonly durationSeconds = 120,
    private readonly settleMs = 200,
  ) {}

  describe(): string {
    return `lock ${LOCK_KEY} in ${this.store.describe}`;
  }

  private async read(key = LOCK_KEY): Promise<LockRecord | undefined> {
    try {
      return JSON.parse((await readSmallObject(this.store, key)).toString('utf8')) as LockRecord;
    } catch (err) {
      if (err instanceof StoreNotFoundError) return undefined;
      if (err instanceof SyntaxError) return undefined; // a torn lock is no lock
      throw err;
    }
  }

  async tryAcquire(now: Date): Promise<boolean> {
    // During an upgrade the old version's reconciler may still hold the lock at the old key.
    const legacy = await this.read(LEGACY_LOCK_KEY);
    if (legacy && legacy.holder !== this.identity && fresh(legacy, now)) return false;
    const current = await this.read();
    if (current && current.holder !== this.identity && fresh(current, now)) return false;
    const mine: LockRecord = {
      holder: this.identity,
      renewedAt: now.toISOString(),
      durationSeconds: this.durationSeconds,
    };
    await this.store.put(LOCK_KEY, JSON.stringify(mine));
    // Two contenders may both write; after a pause, the last write wins for both of them.
    await new Promise((r) => setTimeout(r, this.settleMs));
    const won = (await this.read())?.holder === this.identity;
    // Its `lifeboat/` directory is what made Velero's location Unavailable.
    if (won && legacy) await this.store.delete([LEGACY_LOCK_KEY]);
    return won;
  }

  async release(): Promise<void> {
    if ((await this.read())?.holder === this.identity) await this.store.delete([LOCK_KEY]);
  }
}

const LEASES: ResourceInfo = {
  group: 'coordination.k8s.io',
  version: 'v1',
  resource: 'leases',
  kind: 'Lease',
  namespaced: true,
  verbs: [],
  shortNames: [],
  singularName: 'lease',
  preferredVersion: 'v1',
};

/** A Kubernetes Lease: updates carry the resourceVersion read, so only one contender wins. */
export class LeaseLock implements Leadership {
  private readonly kube: KubeClient;
  private readonly namespace: string;
  readonly identity: string;
  private readonly name: string;
  private readonly durationSeconds: number;

  constructor(opts: {
    kube: KubeClient;
    namespace: string;
    identity: string;
    name?: string;
    durationSeconds?: number;
  }) {
    this.kube = opts.kube;
    this.namespace = opts.namespace;
    this.identity = opts.identity;
    this.name = opts.name ?? 'lifeboat-reconciler';
    this.durationSeconds = opts.durationSeconds ?? 120;
  }

  describe(): string {
    return `Lease ${this.namespace}/${this.name}`;
  }

  async tryAcquire(now: Date): Promise<boolean> {
    const lease = await this.kube.get(LEASES, this.namespace, this.name);
    const spec = (lease?.spec ?? {}) as {
      holderIdentity?: string;
      renewTime?: string;
      leaseDurationSeconds?: number;
    };
    const held =
      spec.holderIdentity &&
      spec.holderIdentity !== this.identity &&
      spec.renewTime &&
      now.getTime() - Date.parse(spec.renewTime) < (spec.leaseDurationSeconds ?? this.durationSeconds) * 1000;
    if (held) return false;
    const body: KubeObject = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        ...(lease ? { resourceVersion: lease.metadata.resourceVersion } : {}),
      },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: this.durationSeconds,
        renewTime: now.toISOString().replace(/Z$/, '000Z'),
        ...(spec.holderIdentity === this.identity
          ? {}
          : { acquireTime: now.toISOString().replace(/Z$/, '000Z') }),
      },
    };
    try {
      if (lease) {
        await this.kube.request({
          method: 'PUT',
          path: `/apis/coordination.k8s.io/v1/namespaces/${this.namespace}/leases/${this.name}`,
          body,
        });
      } else {
        await this.kube.create(LEASES, body);
      }
      return true;
    } catch (err) {
      // 409: someone else renewed or created it between our read and write.
      if (err instanceof KubeApiError && err.status === 409) return false;
      throw err;
    }
  }

  async release(): Promise<void> {
    const lease = await this.kube.get(LEASES, this.namespace, this.name);
    const spec = (lease?.spec ?? {}) as { holderIdentity?: string };
    if (lease && spec.holderIdentity === this.identity)
      await this.kube.delete(LEASES, this.namespace, this.name);
  }
}
