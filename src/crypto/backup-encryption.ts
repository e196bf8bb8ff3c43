// Client-side encryption of one backup: which files are encrypted, what velero-backup.json says
// about it, and how a reader gets the data key back. velero-backup.json itself stays plain, so a
// location can be listed and expired without the key, and Velero (which shows labels and
// annotations in `velero backup describe`) tells its user the contents are encrypted.
import type { Readable } from 'node:stream';
import {
  createDecryptStream,
  decryptBuffer,
  encryptBuffer,
  createEncryptStream,
  looksEncrypted,
} from './chunked-aead.js';
import { KeyError, type Keyring, type WrappedDataKey } from './keyring.js';

/** The format; its presence on a Backup means archive, resource list and log are encrypted. */
export const ANNOTATION_ENCRYPTION = 'lifeboat.dev/encryption';
export const ENCRYPTION_FORMAT = 'aes-256-gcm-chunked-v1';
export const ANNOTATION_ENCRYPTION_KEY = 'lifeboat.dev/encryption-key';
export const ANNOTATION_ENCRYPTION_KEY_FINGERPRINT = 'lifeboat.dev/encryption-key-fingerprint';
export const ANNOTATION_WRAPPED_DATA_KEY = 'lifeboat.dev/encryption-wrapped-data-key';
/** sha256 and size of the archive as stored (encrypted), for checks that have no key. */
export const ANNOTATION_STORED_SHA256 = 'lifeboat.dev/stored-archive-sha256';
export const ANNOTATION_NOTICE = 'lifeboat.dev/notice';
/** A label too, so `velero backup get -l lifeboat.dev/encrypted=true` finds them. */
export const LABEL_ENCRYPTED = 'lifeboat.dev/encrypted';

export const NOTICE =
  'The archive, resource list and log of this backup are encrypted by lifeboat (client-side, ' +
  'AES-256-GCM): Velero cannot read them; restore it with lifeboat and the key named in ' +
  `${ANNOTATION_ENCRYPTION_KEY}.`;

/** The three encrypted files of a backup; each is its own context, so they cannot be swapped. */
export type EncryptedFile = 'archive' | 'resource-list' | 'log';

export class BackupEncryptedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupEncryptedError';
  }
}

/** What the writer of one backup holds: its data key and what to record about it. */
export interface BackupSealer {
  backup: string;
  encryptStream(file: EncryptedFile): NodeJS.ReadWriteStream & Readable;
  encrypt(file: EncryptedFile, plain: Buffer): Promise<Buffer>;
  annotations: Record<string, string>;
  labels: Record<string, string>;
}

export function newBackupSealer(backup: string, keyring: Keyring): BackupSealer {
  const { dataKey, wrapped } = keyring.newDataKey(backup);
  const context = (file: EncryptedFile) => `${backup}/${file}`;
  return {
    backup,
    encryptStream: (file) => createEncryptStream({ dataKey, context: context(file) }),
    encrypt: (file, plain) => encryptBuffer(plain, { dataKey, context: context(file) }),
    annotations: {
      [ANNOTATION_ENCRYPTION]: ENCRYPTION_FORMAT,
      [ANNOTATION_ENCRYPTION_KEY]: wrapped.keyName,
      [ANNOTATION_ENCRYPTION_KEY_FINGERPRINT]: wrapped.fingerprint,
      [ANNOTATION_WRAPPED_DATA_KEY]: wrapped.wrapped,
      [ANNOTATION_NOTICE]: NOTICE,
    },
    labels: { [LABEL_ENCRYPTED]: 'true' },
  };
}

interface BackupMeta {
  metadata: { name: string; annotations?: Record<string, string> };
}

export function isEncrypted(backup: BackupMeta): boolean {
  return backup.metadata.annotations?.[ANNOTATION_ENCRYPTION] !== undefined;
}

/** What a reader of one backup holds: its data key, opened by the location's keyring. */
export interface BackupOpener {
  decryptStream(file: EncryptedFile, source: string): NodeJS.ReadWriteStream & Readable;
  decrypt(file: EncryptedFile, sealed: Buffer, source: string): Promise<Buffer>;
}

/**
 * The opener of an encrypted backup (undefined for a plain one). Throws, before anything is
 * read, when the backup cannot be decrypted here: no keys, the wrong key, an unknown format.
 */
export function openerFor(backup: BackupMeta, keyring: Keyring | undefined): BackupOpener | undefined {
  const a = backup.metadata.annotations ?? {};
  const format = a[ANNOTATION_ENCRYPTION];
  if (format === undefined) return undefined;
  const name = backup.metadata.name;
  if (format !== ENCRYPTION_FORMAT)
    throw new BackupEncryptedError(
      `backup ${name} is encrypted in format ${JSON.stringify(format)}, which this lifeboat cannot read (it reads ${ENCRYPTION_FORMAT})`,
    );
  const wrapped: WrappedDataKey = {
    keyName: a[ANNOTATION_ENCRYPTION_KEY] ?? '(unnamed)',
    fingerprint: a[ANNOTATION_ENCRYPTION_KEY_FINGERPRINT] ?? '',
    wrapped: a[ANNOTATION_WRAPPED_DATA_KEY] ?? '',
  };
  if (!keyring)
    throw new BackupEncryptedError(
      `backup ${name} is encrypted with key ${JSON.stringify(wrapped.keyName)} (fingerprint ${wrapped.fingerprint}), ` +
        'and this location has no encryption keys: set encryption.key (or encryption.retiredKeys) on its StorageLocation',
    );
  let dataKey: Buffer;
  try {
    dataKey = keyring.openDataKey(name, wrapped);
  } catch (err) {
    if (err instanceof KeyError) throw new BackupEncryptedError(err.message);
    throw err;
  }
  const context = (file: EncryptedFile) => `${name}/${file}`;
  return {
    decryptStream: (file, source) => createDecryptStream({ dataKey, context: context(file), source }),
    decrypt: (file, sealed, source) => decryptBuffer(sealed, { dataKey, context: context(file), source }),
  };
}

/**
 * For readers without the metadata at hand: an encrypted file met where a plain one was
 * expected gets a clear error instead of gzip's "incorrect header check".
 */
export function assertNotEncrypted(bytes: Buffer, what: string): void {
  if (looksEncrypted(bytes))
    throw new BackupEncryptedError(
      `${what} is encrypted, but its backup's metadata does not say so (altered metadata?)`,
    );
}
