// A backup's small gzip'd JSON side files (Velero's CSI snapshot lists and volume infos). Each
// is read whole, so its size is bounded; a missing one is normal (object-only backups and
// backups from before Velero wrote it), a damaged one is an error naming the object.
import { gunzipSync } from 'node:zlib';
import { readSmallObject, StoreError, StoreNotFoundError, type BackupStore } from './store.js';

/** Velero writes a few hundred bytes per volume; this allows far more than any backup needs. */
export const SIDE_FILE_MAX_BYTES = 64 * 1024 * 1024;

export class SideFileError extends StoreError {
  constructor(
    readonly key: string,
    where: string,
    detail: string,
  ) {
    super(`${where}: object ${key}: ${detail}`);
    this.name = 'SideFileError';
  }
}

/** The parsed JSON of a gzip'd side file, or undefined when the object does not exist. */
export async function readJsonGzSideFile(
  store: BackupStore,
  key: string,
  opts: { maxBytes?: number } = {},
): Promise<unknown> {
  const maxBytes = opts.maxBytes ?? SIDE_FILE_MAX_BYTES;
  let raw: Buffer;
  try {
    raw = await readSmallObject(store, key);
  } catch (err) {
    if (err instanceof StoreNotFoundError) return undefined;
    throw err;
  }
  if (raw.length > maxBytes) {
    throw new SideFileError(key, store.describe, `${raw.length} bytes, more than the ${maxBytes} allowed`);
  }
  let text: string;
  try {
    text = gunzipSync(raw, { maxOutputLength: maxBytes }).toString('utf8');
  } catch (err) {
    const detail =
      (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE'
        ? `unpacks to more than the ${maxBytes} bytes allowed`
        : `not gzip data (${(err as Error).message})`;
    throw new SideFileError(key, store.describe, detail);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SideFileError(key, store.describe, `not JSON (${(err as Error).message})`);
  }
}
