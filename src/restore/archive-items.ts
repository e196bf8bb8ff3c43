// Reading a backup's objects for a restore, in two streaming passes over the archive:
//
//   1. index: verify the sha256 recorded at backup time and learn which version directories
//      each resource has (Velero writes an unversioned copy and `<v>-preferredversion/`, and
//      with EnableAPIGroupVersions one directory per served version);
//   2. items: yield each object once, from the chosen version directory.
//
// Nothing is acted on before pass 1 has verified the whole archive, and neither pass holds more
// than one entry in memory.
import type { BackupStore } from '../storage/store.js';
import type { VeleroBackup } from '../backup/velero-backup.js';
import { openArchive } from '../backup/catalog.js';
import { PREFERRED_VERSION_SUFFIX } from '../archive/paths.js';
import type { KubeObject } from '../kube/types.js';
import type { ArchiveLimits } from '../archive/reader.js';

export interface ArchiveTypeFacts {
  kind: string;
  apiVersion: string;
  namespaced: boolean;
}

export interface ArchiveIndex {
  /** groupResource → version directories present ('' for the unversioned copy). */
  versionDirs: Map<string, Set<string>>;
  /** groupResource → kind, apiVersion and scope, from its first object. */
  types: Map<string, ArchiveTypeFacts>;
  /** Entries under resources/. */
  itemEntries: number;
  formatVersion?: string;
}

export interface ArchiveItem {
  groupResource: string;
  namespace: string; // '' for cluster-scoped
  name: string;
  /** The API version of the directory the object came from ('' when unversioned). */
  version: string;
  object: KubeObject;
  /** Size of the object's JSON in the archive. */
  bytes: number;
}

export async function indexArchive(
  store: BackupStore,
  backup: VeleroBackup,
  limits: Partial<ArchiveLimits> = {},
): Promise<ArchiveIndex> {
  const versionDirs = new Map<string, Set<string>>();
  const types = new Map<string, ArchiveTypeFacts>();
  let itemEntries = 0;
  let formatVersion: string | undefined;
  // Only the first object of each resource is read (for its kind and version): the pass is
  // about the checksum and the directories, and every other parse would be thrown away.
  const parse = (_path: string, item: { groupResource: string }) => !types.has(item.groupResource);
  for await (const entry of await openArchive(store, backup, { limits, parse })) {
    if (entry.path === 'metadata/version') formatVersion = entry.content.toString('utf8').trim();
    if (!entry.item) continue;
    itemEntries++;
    let dirs = versionDirs.get(entry.item.groupResource);
    if (!dirs) versionDirs.set(entry.item.groupResource, (dirs = new Set()));
    dirs.add(entry.item.versionDir);
    if (!types.has(entry.item.groupResource)) {
      const obj = entry.json as { kind?: unknown; apiVersion?: unknown };
      types.set(entry.item.groupResource, {
        kind: typeof obj.kind === 'string' ? obj.kind : '',
        apiVersion: typeof obj.apiVersion === 'string' ? obj.apiVersion : '',
        namespaced: entry.item.namespace !== '',
      });
    }
  }
  return { versionDirs, types, itemEntries, ...(formatVersion ? { formatVersion } : {}) };
}

/**
 * Which directory to restore a resource from. Velero's default (without
 * EnableAPIGroupVersions' user priorities, pkg/restore/prioritize_group_version.go): the
 * source cluster's preferred version when the target serves it; else the newest version both
 * have; else the unversioned copy (old archives).
 */
export function chooseVersionDir(dirs: Set<string>, servedVersions: readonly string[]): string {
  const preferred = [...dirs].find((d) => d.endsWith(PREFERRED_VERSION_SUFFIX));
  if (preferred && servedVersions.includes(preferred.slice(0, -PREFERRED_VERSION_SUFFIX.length)))
    return preferred;
  const common = [...dirs].filter((d) => d !== '' && servedVersions.includes(d)).sort();
  if (common.length > 0) return common[common.length - 1] ?? '';
  if (dirs.has('')) return '';
  return preferred ?? [...dirs][0] ?? '';
}

export function versionOfDir(dir: string): string {
  return dir.endsWith(PREFERRED_VERSION_SUFFIX) ? dir.slice(0, -PREFERRED_VERSION_SUFFIX.length) : dir;
}

/** Pass 2: each object once, from the directory `chosen` picks for its resource. */
export async function* archiveItems(opts: {
  store: BackupStore;
  backup: VeleroBackup;
  chosen: (groupResource: string) => string;
  limits?: Partial<ArchiveLimits>;
}): AsyncGenerator<ArchiveItem> {
  // Only the copy restored is parsed: Velero writes every object at least twice.
  const parse = (_path: string, item: { groupResource: string; versionDir: string }) =>
    item.versionDir === opts.chosen(item.groupResource);
  for await (const entry of await openArchive(opts.store, opts.backup, {
    limits: opts.limits ?? {},
    parse,
  })) {
    const item = entry.item;
    if (!item || entry.json === undefined) continue;
    if (item.versionDir !== opts.chosen(item.groupResource)) continue;
    yield {
      groupResource: item.groupResource,
      namespace: item.namespace,
      name: item.name,
      version: versionOfDir(item.versionDir),
      object: entry.json as KubeObject,
      bytes: entry.content.length,
    };
  }
}
