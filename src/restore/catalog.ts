// Restores recorded in a location: restores/<name>/lifeboat-restore.json plus Velero's log and
// results files beside it.
import { gunzipSync } from 'node:zlib';
import type { BackupStore } from '../storage/store.js';
import { readSmallObject, StoreNotFoundError } from '../storage/store.js';
import { assertValidName, restoreLayout, RESTORES_DIR } from '../storage/layout.js';
import type { RestoreResult } from './engine.js';

export class RestoreNotFoundError extends Error {
  constructor(name: string, where: string) {
    super(`restore ${name} not found in ${where}`);
    this.name = 'RestoreNotFoundError';
  }
}

export async function getRestore(store: BackupStore, name: string): Promise<RestoreResult> {
  assertValidName('restore', name);
  try {
    return JSON.parse(
      (await readSmallObject(store, restoreLayout.record(name))).toString('utf8'),
    ) as RestoreResult;
  } catch (err) {
    if (err instanceof StoreNotFoundError) throw new RestoreNotFoundError(name, store.describe);
    throw err;
  }
}

export async function listRestores(store: BackupStore): Promise<RestoreResult[]> {
  const dirs = await store.listPrefixes(RESTORES_DIR);
  const out: RestoreResult[] = [];
  for (const d of dirs) {
    const name = d.slice(RESTORES_DIR.length).replace(/\/$/, '');
    try {
      out.push(await getRestore(store, name));
    } catch (err) {
      if (!(err instanceof RestoreNotFoundError)) throw err;
    }
  }
  return out.sort((a, b) => a.startTimestamp.localeCompare(b.startTimestamp));
}

export async function readRestoreLog(store: BackupStore, name: string): Promise<string> {
  assertValidName('restore', name);
  return gunzipSync(await readSmallObject(store, restoreLayout.log(name))).toString('utf8');
}
