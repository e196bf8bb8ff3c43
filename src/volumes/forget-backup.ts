// A backup's restic snapshots go with the backup (deleted by hand, by TTL or by retention), as
// its CSI snapshots do (delete-snapshots.ts). The repositories it wrote to are read from its
// PodVolumeBackups — the live objects labelled with the backup, and the copies in the bucket's
// <name>-podvolumebackups.json.gz (which outlive the cluster) — each repository once. In each,
// one at a time, the snapshots tagged backup=<name> are forgotten and the data only they held
// is pruned; then the PodVolumeBackups are deleted. A repository that cannot be opened keeps
// the backup (the error names it) so the next pass tries again: no snapshot outlives its
// backup unseen.
import { gunzipSync } from 'node:zlib';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/client.js';
import { backupLayout } from '../storage/layout.js';
import { readSmallObject, StoreNotFoundError, type BackupStore } from '../storage/store.js';
import { resolveRepository } from './agent-repository.js';
import { BACKUP_NAME_LABEL, POD_VOLUME_BACKUP, type RepositorySpec } from './pod-volume-types.js';
import { forgetBackup, type ForgetResult } from './repository-maintenance.js';
import { s3RepositoryUrl, type ResticOptions } from './restic.js';

export interface ForgottenRepository extends ForgetResult {
  /** restic's repository string, without credentials (s3:<endpoint>/<bucket>/<prefix>/restic/<ns>). */
  repository: string;
  namespace: string;
}

interface Found {
  specs: Map<string, RepositorySpec>;
  objects: { namespace: string; name: string }[];
}

function urlOf(spec: RepositorySpec): string {
  return s3RepositoryUrl({
    bucket: spec.bucket,
    namespace: spec.volumeNamespace,
    ...(spec.prefix ? { prefix: spec.prefix } : {}),
    ...(spec.s3Url ? { s3Url: spec.s3Url } : {}),
  });
}

function isRepositorySpec(v: unknown): v is RepositorySpec {
  const r = v as Partial<RepositorySpec> | undefined;
  return (
    typeof r?.bucket === 'string' &&
    typeof r.volumeNamespace === 'string' &&
    typeof r.passwordSecret?.name === 'string'
  );
}

/** The repositories named by the backup's PodVolumeBackups, live and stored. */
async function repositoriesOf(
  kube: KubeClient,
  store: BackupStore | undefined,
  backupName: string,
): Promise<Found> {
  const found: Found = { specs: new Map(), objects: [] };
  const add = (spec: unknown) => {
    if (isRepositorySpec(spec)) found.specs.set(urlOf(spec), spec);
  };
  try {
    const page = await kube.list(POD_VOLUME_BACKUP, { labelSelector: `${BACKUP_NAME_LABEL}=${backupName}` });
    for (const item of page.items) {
      add((item as { spec?: { repository?: unknown } }).spec?.repository);
      found.objects.push({ namespace: item.metadata.namespace ?? '', name: item.metadata.name ?? '' });
    }
  } catch (err) {
    // No CRD: lifeboat's volume kinds were never installed, so this cluster holds none of them.
    if (!(err instanceof KubeApiError && err.status === 404)) throw err;
  }
  if (store) {
    const key = backupLayout.podVolumeBackups(backupName);
    try {
      const list: unknown = JSON.parse(gunzipSync(await readSmallObject(store, key)).toString('utf8'));
      if (!Array.isArray(list)) throw new Error('not a JSON list');
      for (const item of list) add((item as { spec?: { repository?: unknown } } | null)?.spec?.repository);
    } catch (err) {
      if (!(err instanceof StoreNotFoundError))
        throw new Error(`${store.describe}/${key}: ${(err as Error).message}`);
    }
  }
  return found;
}

export async function forgetBackupVolumes(o: {
  kube: KubeClient;
  store?: BackupStore;
  backupName: string;
  restic: ResticOptions;
}): Promise<ForgottenRepository[]> {
  const { specs, objects } = await repositoriesOf(o.kube, o.store, o.backupName);
  const out: ForgottenRepository[] = [];
  // One repository at a time: a prune reads and rewrites packs, and the bucket is shared.
  for (const [url, spec] of [...specs].sort(([a], [b]) => a.localeCompare(b))) {
    try {
      const repo = await resolveRepository(o.kube, spec);
      out.push({
        repository: url,
        namespace: spec.volumeNamespace,
        ...(await forgetBackup(repo, o.backupName, o.restic)),
      });
    } catch (err) {
      throw new Error(
        `forgetting the restic snapshots of backup ${o.backupName} in ${url} (namespace ${spec.volumeNamespace}): ${(err as Error).message}`,
      );
    }
  }
  for (const obj of objects) {
    await o.kube.delete(POD_VOLUME_BACKUP, obj.namespace, obj.name).catch((err: unknown) => {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    });
  }
  return out;
}
