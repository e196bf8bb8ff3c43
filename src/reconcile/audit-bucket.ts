// The bucket side of `lifeboat audit`: the backups every storage location of the policy
// repository holds, so audit can list those Git has no record of (gitops/audit-log.ts
// withBucketBackups). The bucket is the truth about which backups exist (Velero's
// backup_sync_controller); Git is the record of who did what, and a record can be lost.
import type { KubeClient } from '../kube/client.js';
import type { Logger } from '../observe/logger.js';
import { listBackups } from '../backup/catalog.js';
import type { BucketBackup } from '../gitops/audit-log.js';
import { loadPolicyRepo } from '../policy/load.js';
import { BUILT_IN_STORAGE_LOCATION, documentsOfKind } from '../policy/convert.js';
import { openLocation } from './locations.js';

export interface BucketListing {
  found: BucketBackup[];
  /** Locations that could not be listed, each with the reason (never a credential). */
  problems: string[];
}

/** Every backup with readable metadata in every location the policy repository at `dir` defines. */
export async function bucketBackups(deps: {
  dir: string;
  kube: () => Promise<KubeClient>;
  localRoot: string;
  env?: NodeJS.ProcessEnv;
  log: Logger;
}): Promise<BucketListing> {
  const { documents } = await loadPolicyRepo({ dir: deps.dir });
  const specs = documentsOfKind(documents, 'StorageLocation').map((d) => ({
    name: d.metadata.name,
    spec: d.spec,
  }));
  if (!specs.some((s) => s.name === BUILT_IN_STORAGE_LOCATION.name))
    specs.push({ ...BUILT_IN_STORAGE_LOCATION });
  const listing: BucketListing = { found: [], problems: [] };
  for (const { name, spec } of specs) {
    try {
      const loc = await openLocation(name, spec, {
        kube: deps.kube,
        localRoot: deps.localRoot,
        ...(deps.env ? { env: deps.env } : {}),
      });
      for (const entry of await listBackups(loc.store)) {
        const b = entry.backup;
        if (b === undefined) continue; // incomplete or unreadable: not a backup that was taken
        listing.found.push({
          name: entry.name,
          location: name,
          ...(b.status.phase ? { phase: b.status.phase } : {}),
          ...(b.status.startTimestamp ? { startTimestamp: b.status.startTimestamp } : {}),
        });
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      deps.log.warn({ location: name, err: message }, 'audit cannot list storage location');
      listing.problems.push(`storage location ${name}: ${message}`);
    }
  }
  return listing;
}
