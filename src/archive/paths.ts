// Entry paths inside a backup archive, as Velero writes and reads them
// (velero pkg/archive, pkg/backup/item_backupper.go getFileForArchive).
//
// Every item is written twice: once without a version directory (for old readers) and once
// under `<version>-preferredversion/` for the version it was listed at.

export const RESOURCES_DIR = 'resources';
export const METADATA_VERSION_PATH = 'metadata/version';
/** Velero's backup format version (pkg/apis/velero/v1 BackupFormatVersion). */
export const BACKUP_FORMAT_VERSION = '1.1.0';
export const PREFERRED_VERSION_SUFFIX = '-preferredversion';

export interface ItemPath {
  /** Velero's GroupResource string: `pods`, `deployments.apps`. */
  groupResource: string;
  namespace: string; // '' for cluster-scoped
  name: string;
  /** '' for the unversioned copy; otherwise the version directory, e.g. 'v1-preferredversion'. */
  versionDir: string;
}

export function itemPath(p: ItemPath): string {
  return `${itemDir(p.groupResource, p.versionDir)}${itemSubpath(p.namespace, p.name)}`;
}

/**
 * The directory of a resource's items, ending in '/': `resources/<gr>/` for the unversioned
 * copy, `resources/<gr>/<versionDir>/` for the other. itemPath is this + itemSubpath.
 */
export function itemDir(groupResource: string, versionDir: string): string {
  return versionDir === ''
    ? `${RESOURCES_DIR}/${groupResource}/`
    : `${RESOURCES_DIR}/${groupResource}/${versionDir}/`;
}

/**
 * An item's path below its resource's directory (itemDir): `namespaces/<ns>/<name>.json`, or
 * `cluster/<name>.json` for a cluster-scoped one ('' namespace). The same for both copies, so
 * a backup builds it once per object (archive/writer.ts addItemPairs).
 */
export function itemSubpath(namespace: string, name: string): string {
  return namespace === '' ? `cluster/${name}.json` : `namespaces/${namespace}/${name}.json`;
}

/**
 * Parse an archive entry path. Returns undefined for paths that are not items
 * (metadata, directories). Throws for paths that try to escape the archive.
 */
export function parseItemPath(path: string): ItemPath | undefined {
  assertSafeEntryPath(path);
  const parts = path.split('/');
  if (parts[0] !== RESOURCES_DIR || parts.length < 4) return undefined;
  const groupResource = parts[1] ?? '';
  let rest = parts.slice(2);
  let versionDir = '';
  if (rest[0] !== 'cluster' && rest[0] !== 'namespaces') {
    versionDir = rest[0] ?? '';
    rest = rest.slice(1);
  }
  const file = rest[rest.length - 1] ?? '';
  if (!file.endsWith('.json')) return undefined;
  const name = file.slice(0, -'.json'.length);
  if (rest[0] === 'cluster' && rest.length === 2) return { groupResource, namespace: '', name, versionDir };
  if (rest[0] === 'namespaces' && rest.length === 3) {
    return { groupResource, namespace: rest[1] ?? '', name, versionDir };
  }
  return undefined;
}

export class UnsafeArchivePathError extends Error {
  constructor(readonly path: string) {
    super(`archive entry ${JSON.stringify(path)} escapes the archive (absolute path or '..')`);
    this.name = 'UnsafeArchivePathError';
  }
}

export function assertSafeEntryPath(path: string): void {
  // A segment '..' is the whole path, or at its start, its end or between two slashes: the
  // same test as splitting on '/', without building an array for each of a backup's entries.
  if (
    path.startsWith('/') ||
    path.includes('\\') ||
    path === '..' ||
    path.startsWith('../') ||
    path.endsWith('/..') ||
    path.includes('/../')
  ) {
    throw new UnsafeArchivePathError(path);
  }
}
