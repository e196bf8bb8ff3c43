// From policy documents to what the engines take: src/backup/spec.ts BackupSpec and
// src/restore/spec.ts RestoreSpec, plus the lookups the reconciler needs.
import type { BackupSpec } from '../backup/spec.js';
import type { RestoreSpec } from '../restore/spec.js';
import { formatFieldPath } from './field-path.js';
import { BUILT_IN_LOCATION_NAME, BUILT_IN_LOCATION_PATH } from './references.js';
import type {
  BackupTemplate,
  FieldPath,
  LocalStorageLocationSpec,
  PolicyDocument,
  PolicyDocumentOfKind,
  PolicyError,
  PolicyErrorCode,
  PolicyKind,
  RestoreDocument,
  StorageLocationDocument,
  StorageLocationSpec,
} from './types.js';

/** A backup template as Velero's BackupSpec: `includeClusterResources: auto` becomes unset (nil). */
export function toBackupSpec(template: BackupTemplate): BackupSpec {
  const { includeClusterResources, ...rest } = structuredClone(template);
  return includeClusterResources === 'auto' ? rest : { ...rest, includeClusterResources };
}

/** A Restore document as Velero's RestoreSpec: `includeClusterResources: auto` becomes unset (nil). */
export function toRestoreSpec(document: RestoreDocument): RestoreSpec {
  const { includeClusterResources, ...rest } = structuredClone(document.spec);
  return includeClusterResources === 'auto' ? rest : { ...rest, includeClusterResources };
}

export function documentsOfKind<K extends PolicyKind>(
  documents: readonly PolicyDocument[],
  kind: K,
): PolicyDocumentOfKind<K>[] {
  return documents.filter((document): document is PolicyDocumentOfKind<K> => document.kind === kind);
}

/** The location used when the repository defines none named `default`. */
export const BUILT_IN_STORAGE_LOCATION: { readonly name: string; readonly spec: LocalStorageLocationSpec } = {
  name: BUILT_IN_LOCATION_NAME,
  spec: { provider: 'local', path: BUILT_IN_LOCATION_PATH, accessMode: 'ReadWrite', default: false },
};

export interface ResolvedStorageLocation {
  name: string;
  spec: StorageLocationSpec;
  /** Absent for the built-in location. */
  document?: StorageLocationDocument;
}

/**
 * The location a backup goes to. A name picks that StorageLocation; no name picks the one with
 * `default: true`, else the one named `default`. `default` is the built-in local directory
 * unless the repository defines it. undefined: no such location (the loader reports that).
 */
export function resolveStorageLocation(
  documents: readonly PolicyDocument[],
  name?: string,
): ResolvedStorageLocation | undefined {
  const locations = documentsOfKind(documents, 'StorageLocation');
  const document =
    name === undefined
      ? (locations.find((location) => location.spec.default) ??
        locations.find((l) => l.metadata.name === BUILT_IN_LOCATION_NAME))
      : locations.find((location) => location.metadata.name === name);
  if (document) return { name: document.metadata.name, spec: document.spec, document };
  if (name === undefined || name === BUILT_IN_LOCATION_NAME) return { ...BUILT_IN_STORAGE_LOCATION };
  return undefined;
}

/**
 * An error about a loaded document found later (while reconciling or planning), pointing at
 * `path` or, when the author did not write that field, its nearest written ancestor.
 */
export function policyErrorAt(
  document: PolicyDocument,
  options: { path?: FieldPath; message: string; code: PolicyErrorCode },
): PolicyError {
  const path = options.path ?? [];
  let position = document.source.fields[''] ?? { line: document.source.line, column: document.source.column };
  for (let length = path.length; length > 0; length--) {
    const found = document.source.fields[formatFieldPath(path.slice(0, length))];
    if (found) {
      position = found;
      break;
    }
  }
  return {
    file: document.source.file,
    line: position.line,
    column: position.column,
    path: formatFieldPath(path),
    message: options.message,
    code: options.code,
    document: { kind: document.kind, name: document.metadata.name },
  };
}
