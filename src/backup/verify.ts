// `lifeboat backup verify`: does a stored backup hold what its metadata says, without
// restoring it? Every object is read in full (the S3 store checks each download against the
// checksum the server stored at upload; the archive against the sha256 in velero-backup.json),
// every item is parsed, and the archive's items are compared with the resource list.
//
// Memory stays bounded whatever the backup's size: the archive and the resource list are not
// joined name by name, but per kind through a count and an order-independent digest (the sum
// of each name's sha256 modulo 2^256), so a difference is named by kind, with the counts.
import { createHash } from 'node:crypto';
import type { ArchiveLimits } from '../archive/reader.js';
import { assertValidName, backupLayout } from '../storage/layout.js';
import type { BackupStore } from '../storage/store.js';
import { StoreNotFoundError } from '../storage/store.js';
import { checksumState } from './archive-checksum.js';
import { getBackup, openArchive, readBackupLog, readResourceList } from './catalog.js';
import type { VeleroBackup } from './velero-backup.js';

export interface VerifyProblem {
  /** The object (key relative to the location) the problem is in. */
  object: string;
  problem: string;
}

export interface VerifyReport {
  backup: string;
  ok: boolean;
  phase?: string;
  /** Items read from the archive (unversioned copies). */
  items: number;
  problems: VerifyProblem[];
}

const MOD = 1n << 256n;

class KindTally {
  count = 0;
  sum = 0n;
  add(name: string): void {
    this.count++;
    this.sum = (this.sum + BigInt(`0x${createHash('sha256').update(name).digest('hex')}`)) % MOD;
  }
}

function tally(map: Map<string, KindTally>, key: string): KindTally {
  let t = map.get(key);
  if (!t) map.set(key, (t = new KindTally()));
  return t;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export async function verifyBackup(
  store: BackupStore,
  name: string,
  opts: { limits?: Partial<ArchiveLimits> } = {},
): Promise<VerifyReport> {
  assertValidName('backup', name);
  const problems: VerifyProblem[] = [];
  const report = (phase: string | undefined, items: number): VerifyReport => ({
    backup: name,
    ok: problems.length === 0,
    ...(phase ? { phase } : {}),
    items,
    problems,
  });
  const metaKey = backupLayout.metadata(name);
  let backup: VeleroBackup;
  try {
    backup = await getBackup(store, name);
  } catch (err) {
    problems.push({ object: metaKey, problem: message(err) });
    return report(undefined, 0);
  }
  const phase = backup.status?.phase;
  if (phase !== 'Completed' && phase !== 'PartiallyFailed') {
    // A Failed backup holds no archive to check; it is never restorable.
    problems.push({ object: metaKey, problem: `phase is ${phase ?? 'missing'}: not a complete backup` });
    return report(phase, 0);
  }
  const checksum = checksumState(backup);
  if (checksum.state === 'missing')
    problems.push({ object: metaKey, problem: 'records no archive checksum (lifeboat.dev/archive-sha256)' });

  const listKey = backupLayout.resourceList(name);
  const fromList = await tallyResourceList(store, { name, key: listKey }, problems);
  const logKey = backupLayout.log(name);
  try {
    // Through the catalog, which decrypts an encrypted backup's log (ADR 0025) before gunzip.
    await readBackupLog(store, name);
  } catch (err) {
    problems.push({ object: logKey, problem: missingOr(err, 'unreadable log') });
  }
  const archive = await tallyArchive(store, backup, opts.limits, problems);
  const items = archive?.items ?? 0;

  if (fromList && archive) problems.push(...compare(fromList, archive.kinds, listKey));
  const recorded = backup.status?.progress?.totalItems;
  if (archive && recorded !== undefined && recorded !== items)
    problems.push({ object: metaKey, problem: `records ${recorded} item(s), the archive holds ${items}` });
  return report(phase, items);
}

/** Kinds whose names differ between the resource list and the archive. */
function compare(
  fromList: Map<string, KindTally>,
  fromArchive: Map<string, KindTally>,
  listKey: string,
): VerifyProblem[] {
  const out: VerifyProblem[] = [];
  for (const key of new Set([...fromList.keys(), ...fromArchive.keys()])) {
    const l = fromList.get(key) ?? new KindTally();
    const a = fromArchive.get(key) ?? new KindTally();
    if (l.count === a.count && l.sum === a.sum) continue;
    const other = l.count === a.count ? ' with other names' : '';
    out.push({
      object: listKey,
      problem: `${key}: the resource list names ${l.count} object(s), the archive holds ${a.count}${other}`,
    });
  }
  return out;
}

/** The resource list's names per kind; undefined (and a problem) when it cannot be read. */
async function tallyResourceList(
  store: BackupStore,
  at: { name: string; key: string },
  problems: VerifyProblem[],
): Promise<Map<string, KindTally> | undefined> {
  const { key } = at;
  const kinds = new Map<string, KindTally>();
  try {
    // Decrypted first when the backup is encrypted (catalog.ts readSmallFile).
    const list = (await readResourceList(store, at.name)) as unknown;
    if (typeof list !== 'object' || list === null || Array.isArray(list))
      throw new Error('not an object of "<apiVersion>/<Kind>": [names]');
    for (const [kind, names] of Object.entries(list as Record<string, unknown>)) {
      if (!Array.isArray(names)) throw new Error(`${kind}: not a list of names`);
      for (const n of names) tally(kinds, kind).add(String(n));
    }
    return kinds;
  } catch (err) {
    problems.push({ object: key, problem: missingOr(err, 'unreadable resource list') });
    return undefined;
  }
}

/**
 * The archive's items per kind (their unversioned copies), read to the end so its sha256 is
 * checked; undefined (and a problem) when it cannot be read whole.
 */
async function tallyArchive(
  store: BackupStore,
  backup: VeleroBackup,
  limits: Partial<ArchiveLimits> | undefined,
  problems: VerifyProblem[],
): Promise<{ kinds: Map<string, KindTally>; items: number } | undefined> {
  const key = backupLayout.archive(backup.metadata.name);
  const kinds = new Map<string, KindTally>();
  let items = 0;
  try {
    for await (const entry of await openArchive(store, backup, limits ? { limits } : {})) {
      if (!entry.item || entry.item.versionDir !== '') continue;
      const obj = entry.json as { apiVersion?: unknown; kind?: unknown } | undefined;
      if (typeof obj?.apiVersion !== 'string' || typeof obj.kind !== 'string') {
        problems.push({ object: key, problem: `${entry.path}: no apiVersion and kind` });
        continue;
      }
      const { namespace, name } = entry.item;
      tally(kinds, `${obj.apiVersion}/${obj.kind}`).add(namespace === '' ? name : `${namespace}/${name}`);
      items++;
    }
    return { kinds, items };
  } catch (err) {
    problems.push({ object: key, problem: missingOr(err, 'unreadable archive') });
    return undefined;
  }
}

function missingOr(err: unknown, what: string): string {
  if (err instanceof StoreNotFoundError) return 'missing';
  return `${what}: ${message(err)}`;
}
