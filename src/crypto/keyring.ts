// The key-encryption keys (KEKs) of a location: the active one wraps a fresh data key for every
// backup; retired ones (after a rotation) still unwrap the data keys of older backups. A key is
// known by the name the user gave its source (never its bytes) and by a fingerprint, an HMAC
// of a constant under the key, which tells keys apart without revealing anything about them.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { KEY_BYTES, TAG_BYTES } from './chunked-aead.js';

export interface NamedKey {
  /** Where the key is, as errors may show it: `Secret lifeboat/backup-kek key current`. */
  name: string;
  key: Buffer;
}

/** A data key wrapped by a KEK, as velero-backup.json records it. */
export interface WrappedDataKey {
  keyName: string;
  fingerprint: string;
  /** base64: version byte 1 | nonce (12) | encrypted data key (32) | tag (16). */
  wrapped: string;
}

export class KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyError';
  }
}

const WRAP_VERSION = 1;

export function fingerprintOf(key: Buffer): string {
  return createHmac('sha256', key).update('lifeboat key fingerprint v1').digest('hex').slice(0, 16);
}

/**
 * A key as read from a Secret or file: 32 raw bytes, or 32 bytes in base64 or hex (what
 * `openssl rand -base64 32` or `-hex 32` print), surrounding whitespace ignored.
 */
export function parseKeyMaterial(name: string, material: Buffer): Buffer {
  if (material.length === KEY_BYTES) return Buffer.from(material);
  const text = material.toString('utf8').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(text)) {
    const key = Buffer.from(text, 'base64');
    if (key.length === KEY_BYTES) return key;
  }
  // The length only: the material itself must never reach an error message.
  throw new KeyError(
    `${name} is not a 256-bit key (${material.length} bytes): give 32 random bytes, or them in base64 (openssl rand -base64 32) or hex`,
  );
}

function wrapAad(backup: string): Buffer {
  return Buffer.from(`lifeboat/v1 data key of backup ${backup}`, 'utf8');
}

export class Keyring {
  readonly #active: NamedKey | undefined;
  readonly #all: NamedKey[];

  constructor(opts: { active?: NamedKey; retired?: NamedKey[] }) {
    this.#active = opts.active;
    this.#all = [...(opts.active ? [opts.active] : []), ...(opts.retired ?? [])];
  }

  /** The active key's name: new backups are encrypted under it. Undefined: read-only keyring. */
  get activeName(): string | undefined {
    return this.#active?.name;
  }

  /** The names of every key, for errors. */
  get names(): string[] {
    return this.#all.map((k) => k.name);
  }

  /** A fresh random data key for one backup, and it wrapped by the active key. */
  newDataKey(backup: string): { dataKey: Buffer; wrapped: WrappedDataKey } {
    const kek = this.#active;
    if (!kek) throw new KeyError(`cannot encrypt backup ${backup}: the location has only retired keys`);
    const dataKey = randomBytes(KEY_BYTES);
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', kek.key, nonce);
    cipher.setAAD(wrapAad(backup));
    const sealed = Buffer.concat([cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
    return {
      dataKey,
      wrapped: {
        keyName: kek.name,
        fingerprint: fingerprintOf(kek.key),
        wrapped: Buffer.concat([Buffer.from([WRAP_VERSION]), nonce, sealed]).toString('base64'),
      },
    };
  }

  /** The backup's data key; a KeyError naming the key and the backup when no key here opens it. */
  openDataKey(backup: string, w: WrappedDataKey): Buffer {
    const wanted = `key ${JSON.stringify(w.keyName)} (fingerprint ${w.fingerprint})`;
    const kek = this.#all.find((k) => fingerprintOf(k.key) === w.fingerprint);
    if (!kek) {
      const sameName = this.#all.find((k) => k.name === w.keyName);
      throw new KeyError(
        `backup ${backup} is encrypted with ${wanted}, which this location does not have` +
          (sameName
            ? `: ${sameName.name} now holds a different key (fingerprint ${fingerprintOf(sameName.key)}); keep the old key as a retired key of the location`
            : this.#all.length === 0
              ? ''
              : `; it has ${this.names.join(', ')}: add the old key under encryption.retiredKeys`),
      );
    }
    const raw = Buffer.from(w.wrapped, 'base64');
    if (raw.length !== 1 + 12 + KEY_BYTES + TAG_BYTES || raw[0] !== WRAP_VERSION)
      throw new KeyError(`backup ${backup}: the wrapped data key in its metadata is malformed`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', kek.key, raw.subarray(1, 13));
      decipher.setAAD(wrapAad(backup));
      decipher.setAuthTag(raw.subarray(13 + KEY_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(13, 13 + KEY_BYTES)), decipher.final()]);
    } catch {
      throw new KeyError(
        `backup ${backup}: ${kek.name} does not open its data key (the metadata was altered, or copied from another backup)`,
      );
    }
  }
}
