// `restic check` of every restic repository of a location (`<prefix>/restic/<namespace>/`),
// one at a time, each after its stale locks are cleared. The outcome per namespace is data:
// one broken repository does not stop the others from being checked.
import type { KubeClient } from '../kube/client.js';
import type { BackupStore } from '../storage/store.js';
import { resolveRepository } from './agent-repository.js';
import type { LocationRepository } from './location-repository.js';
import { verifyRepository } from './repository-maintenance.js';
import type { ResticOptions } from './restic.js';

export interface RepositoryCheck {
  namespace: string;
  result: 'Passed' | 'Failed';
  /** restic's reason (never a password or a key: restic.ts keeps them out of its errors). */
  error?: string;
  staleLocksRemoved?: number;
  seconds: number;
}

export async function checkLocationRepositories(o: {
  kube: KubeClient;
  store: BackupStore;
  repository: LocationRepository;
  restic: ResticOptions;
  readDataSubset?: string;
}): Promise<RepositoryCheck[]> {
  const dirs = await o.store.listPrefixes('restic/');
  const namespaces = dirs.map((d) => d.replace(/^restic\//, '').replace(/\/$/, '')).filter(Boolean);
  const out: RepositoryCheck[] = [];
  for (const namespace of namespaces.sort()) {
    const t0 = Date.now();
    try {
      const repo = await resolveRepository(o.kube, { ...o.repository, volumeNamespace: namespace });
      const { unlocked } = await verifyRepository(repo, {
        ...o.restic,
        ...(o.readDataSubset ? { readDataSubset: o.readDataSubset } : {}),
      });
      out.push({
        namespace,
        result: 'Passed',
        ...(unlocked > 0 ? { staleLocksRemoved: unlocked } : {}),
        seconds: (Date.now() - t0) / 1000,
      });
    } catch (err) {
      out.push({
        namespace,
        result: 'Failed',
        error: err instanceof Error ? err.message : String(err),
        seconds: (Date.now() - t0) / 1000,
      });
    }
  }
  return out;
}
