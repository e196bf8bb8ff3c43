// Rules across documents: names unique per kind, at most one default StorageLocation, and
// references that resolve to a valid document. Kinds are checked in dependency order, so
// when a document is invalid its referrers learn it ("an invalid document stalls only itself
// and what depends on it").
import { issue, warning } from './issue.js';
import type { Issue } from './issue.js';
import { POLICY_KINDS } from './types.js';
import type { FieldPath, PolicyKind, Position } from './types.js';

/**
 * lifeboat's built-in location: used when no StorageLocation named `default` is in the
 * repository, like Velero's server default `--default-backup-storage-location=default`.
 */
export const BUILT_IN_LOCATION_NAME = 'default';
export const BUILT_IN_LOCATION_PATH = '.lifeboat/backups';

/** A document whose kind and name could be read, valid or not. */
export interface DocumentEntry {
  kind: PolicyKind;
  name: string;
  file: string;
  /** Where metadata.name is written. */
  namePosition: Position;
  /** The parsed document; may not match its schema when `valid` is false. */
  content: unknown;
  valid: boolean;
}

/** A reference from one document to another by name. */
interface Reference {
  kind: PolicyKind;
  /** undefined: the default StorageLocation, implied by leaving the field out. */
  name: string | undefined;
  path: FieldPath;
}

const REFERENCES: Partial<Record<PolicyKind, (content: unknown) => Reference[]>> = {
  BackupSchedule: (content) => [locationReference(content, ['spec', 'template'])],
  Backup: (content) => [locationReference(content, ['spec'])],
  Restore: (content) => {
    const name = valueAt(content, ['spec', 'scheduleName']);
    return typeof name === 'string' ? [{ kind: 'BackupSchedule', name, path: ['spec', 'scheduleName'] }] : [];
  },
};

function locationReference(content: unknown, template: FieldPath): Reference {
  const name = valueAt(content, [...template, 'storageLocation']);
  return typeof name === 'string'
    ? { kind: 'StorageLocation', name, path: [...template, 'storageLocation'] }
    : { kind: 'StorageLocation', name: undefined, path: template };
}

/** The issues of each entry that has any; an entry with issues is invalid. */
export function crossDocumentIssues(entries: readonly DocumentEntry[]): Map<DocumentEntry, Issue[]> {
  const found = new Map<DocumentEntry, Issue[]>();
  const invalid = new Set(entries.filter((entry) => !entry.valid));
  const report = (entry: DocumentEntry, item: Issue): void => {
    found.set(entry, [...(found.get(entry) ?? []), item]);
    // A warning leaves its document valid, so its referrers too.
    if (item.severity !== 'warning') invalid.add(entry);
  };
  const firsts = new Map<string, DocumentEntry>();
  const lookup = (kind: PolicyKind, name: string) => firsts.get(`${kind}/${name}`);
  let defaultLocation: DocumentEntry | undefined;

  for (const kind of POLICY_KINDS) {
    const ofKind = entries.filter((entry) => entry.kind === kind);
    for (const entry of ofKind) {
      const first = lookup(kind, entry.name);
      if (first) report(entry, duplicateIssue(entry, first));
      else firsts.set(`${kind}/${entry.name}`, entry);
    }
    if (kind === 'StorageLocation') {
      const locations = ofKind.filter((entry) => lookup(kind, entry.name) === entry);
      for (const [entry, item] of defaultFlagIssues(locations)) report(entry, item);
      defaultLocation = defaultLocationEntry(locations);
    }
    for (const entry of ofKind) {
      for (const reference of REFERENCES[kind]?.(entry.content) ?? []) {
        const target =
          reference.name === undefined ? defaultLocation : lookup(reference.kind, reference.name);
        const item = referenceIssue({
          reference,
          target,
          invalid,
          known: knownNames(entries, reference.kind),
        });
        if (item) report(entry, item);
        else for (const w of resticWarnings(entry.content, reference, target)) report(entry, w);
      }
    }
  }
  return found;
}

/** The fields of a backup that copy volume data with restic into its location's repository. */
const RESTIC_FIELDS = ['snapshotMoveData', 'defaultVolumesToFsBackup'] as const;

/**
 * A backup that asks for restic copies from a location without a restic repository runs, but
 * every such volume fails by name: a warning, not an error, so its objects are still backed up.
 */
function resticWarnings(content: unknown, reference: Reference, target: DocumentEntry | undefined): Issue[] {
  if (reference.kind !== 'StorageLocation') return [];
  const template = reference.name === undefined ? reference.path : reference.path.slice(0, -1);
  const asking = RESTIC_FIELDS.filter((field) => valueAt(content, [...template, field]) === true);
  if (asking.length === 0) return [];
  const spec = target ? valueAt(target.content, ['spec']) : undefined;
  const why = !target
    ? `backups go to lifeboat's built-in local directory, which holds no restic repository`
    : valueAt(spec, ['provider']) !== 'aws'
      ? `StorageLocation "${target.name}" is a local directory (provider ${String(valueAt(spec, ['provider']))}), which holds no restic repository`
      : valueAt(spec, ['restic']) === undefined
        ? `StorageLocation "${target.name}" has no spec.restic (the repository password Secret)`
        : undefined;
  if (why === undefined) return [];
  return asking.map((field) =>
    warning(
      'reference',
      [...template, field],
      `${field} copies volume data with restic, but ${why}: every such volume of these backups will fail, naming it`,
    ),
  );
}

function duplicateIssue(entry: DocumentEntry, first: DocumentEntry): Issue {
  return {
    ...issue(
      'duplicate-name',
      ['metadata', 'name'],
      `duplicate ${entry.kind} name "${entry.name}": first defined at ${where(first)}`,
    ),
    related: [relatedPosition(first)],
  };
}

/** Only one StorageLocation may be the default; the second one to claim it is in error. */
function defaultFlagIssues(locations: DocumentEntry[]): [DocumentEntry, Issue][] {
  const claimants = locations.filter((entry) => valueAt(entry.content, ['spec', 'default']) === true);
  const [first, ...rest] = claimants;
  if (!first) return [];
  return rest.map((entry) => [
    entry,
    {
      ...issue(
        'storage',
        ['spec', 'default'],
        `only one StorageLocation can be the default, and "${first.name}" (${where(first)}) already is`,
      ),
      related: [relatedPosition(first)],
    },
  ]);
}

/**
 * Where backups that name no location go: the location marked `default: true`, else the one
 * named `default`; undefined when that is the built-in one.
 */
function defaultLocationEntry(locations: DocumentEntry[]): DocumentEntry | undefined {
  return (
    locations.find((entry) => valueAt(entry.content, ['spec', 'default']) === true) ??
    locations.find((entry) => entry.name === BUILT_IN_LOCATION_NAME)
  );
}

interface ReferenceCheck {
  reference: Reference;
  target: DocumentEntry | undefined;
  invalid: ReadonlySet<DocumentEntry>;
  known: string[];
}

function referenceIssue({ reference, target, invalid, known }: ReferenceCheck): Issue | undefined {
  const { kind, name, path } = reference;
  const implicit = name === undefined;
  const subject = implicit
    ? `no storageLocation is set, so backups go to the default StorageLocation "${target?.name ?? ''}", which`
    : `${kind} "${name}"`;
  if (!target) {
    if (implicit || (kind === 'StorageLocation' && name === BUILT_IN_LOCATION_NAME)) return undefined;
    const hint =
      kind === 'BackupSchedule' ? ' (to restore a backup by its name in storage, use backupName)' : '';
    const list = known.length > 0 ? `; defined: ${known.join(', ')}` : '';
    return issue('reference', path, `${subject} not found in the repository${list}${hint}`);
  }
  if (invalid.has(target)) {
    return {
      ...issue(
        'reference',
        path,
        `${subject} is invalid (${where(target)}); fix it first`,
        implicit ? 'key' : 'value',
      ),
      related: [relatedPosition(target)],
    };
  }
  if (kind === 'StorageLocation' && valueAt(target.content, ['spec', 'accessMode']) === 'ReadOnly') {
    return {
      ...issue(
        'reference',
        path,
        `${subject} is ReadOnly: backups cannot be written to it`,
        implicit ? 'key' : 'value',
      ),
      related: [relatedPosition(target)],
    };
  }
  return undefined;
}

function knownNames(entries: readonly DocumentEntry[], kind: PolicyKind): string[] {
  const names = new Set(entries.filter((entry) => entry.kind === kind).map((entry) => entry.name));
  if (kind === 'StorageLocation') names.add(BUILT_IN_LOCATION_NAME);
  return [...names].sort();
}

function where(entry: DocumentEntry): string {
  return `${entry.file}:${entry.namePosition.line}:${entry.namePosition.column}`;
}

function relatedPosition(entry: DocumentEntry): Position & { file: string } {
  return { file: entry.file, ...entry.namePosition };
}

function valueAt(content: unknown, path: FieldPath): unknown {
  let current = content;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}
