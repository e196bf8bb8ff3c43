import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fingerprintOf, Keyring, parseKeyMaterial } from './keyring.js';
import {
  ANNOTATION_ENCRYPTION_KEY,
  ANNOTATION_WRAPPED_DATA_KEY,
  newBackupSealer,
  openerFor,
} from './backup-encryption.js';

const key = (name: string) => ({ name, key: randomBytes(32) });

describe('key material', () => {
  it('accepts 32 raw bytes, base64 and hex, and names the source (never the bytes) otherwise', () => {
    const raw = randomBytes(32);
    expect(parseKeyMaterial('k', raw).equals(raw)).toBe(true);
    expect(parseKeyMaterial('k', Buffer.from(`${raw.toString('base64')}\n`)).equals(raw)).toBe(true);
    expect(parseKeyMaterial('k', Buffer.from(raw.toString('hex'))).equals(raw)).toBe(true);
    const bad = Buffer.from('not-a-key-but-a-secret-value');
    expect(() => parseKeyMaterial('Secret lifeboat/kek key current', bad)).toThrow(
      /Secret lifeboat\/kek key current is not a 256-bit key \(28 bytes\)/,
    );
    try {
      parseKeyMaterial('k', bad);
    } catch (err) {
      expect((err as Error).message).not.toContain('not-a-key-but-a-secret-value');
    }
  });
});

describe('data keys wrapped by the keyring', () => {
  it('opens a data key with the active key, and after rotation with the retired one', () => {
    const old = key('Secret lifeboat/kek key 2025');
    const wrapped = new Keyring({ active: old }).newDataKey('shop-1');
    const rotated = new Keyring({ active: key('Secret lifeboat/kek key 2026'), retired: [old] });
    const first = new Keyring({ active: old }).openDataKey('shop-1', wrapped.wrapped);
    expect(first.equals(wrapped.dataKey)).toBe(true);
    expect(rotated.openDataKey('shop-1', wrapped.wrapped).equals(wrapped.dataKey)).toBe(true);
    expect(rotated.newDataKey('shop-2').wrapped.keyName).toBe('Secret lifeboat/kek key 2026');
  });

  it('names the missing key and the backup', () => {
    const wrapped = new Keyring({ active: key('Secret lifeboat/kek key 2025') }).newDataKey('shop-1');
    expect(() =>
      new Keyring({ active: key('Secret lifeboat/kek key 2026') }).openDataKey('shop-1', wrapped.wrapped),
    ).toThrow(
      /backup shop-1 is encrypted with key "Secret lifeboat\/kek key 2025" \(fingerprint [0-9a-f]{16}\), which this location does not have.*retiredKeys/,
    );
  });

  it('says when the named key now holds different bytes', () => {
    const wrapped = new Keyring({ active: key('Secret lifeboat/kek key current') }).newDataKey('shop-1');
    expect(() =>
      new Keyring({ active: key('Secret lifeboat/kek key current') }).openDataKey('shop-1', wrapped.wrapped),
    ).toThrow(/now holds a different key/);
  });

  it('refuses a wrapped key moved to another backup', () => {
    const ring = new Keyring({ active: key('k') });
    const wrapped = ring.newDataKey('shop-1');
    expect(() => ring.openDataKey('shop-2', wrapped.wrapped)).toThrow(
      /backup shop-2: k does not open its data key/,
    );
  });

  it('fingerprints tell keys apart and do not contain them', () => {
    const a = randomBytes(32);
    expect(fingerprintOf(a)).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprintOf(a)).toBe(fingerprintOf(Buffer.from(a)));
    expect(fingerprintOf(a)).not.toBe(fingerprintOf(randomBytes(32)));
    expect(a.toString('hex')).not.toContain(fingerprintOf(a));
  });
});

describe('backup sealer and opener', () => {
  it('round-trips each file of a backup, and refuses one file read as another', async () => {
    const ring = new Keyring({ active: key('k') });
    const sealer = newBackupSealer('shop-1', ring);
    const backup = { metadata: { name: 'shop-1', annotations: sealer.annotations } };
    const opener = openerFor(backup, ring);
    const log = await sealer.encrypt('log', Buffer.from('a log line'));
    expect((await opener!.decrypt('log', log, 'x')).toString()).toBe('a log line');
    await expect(opener!.decrypt('resource-list', log, 'x')).rejects.toThrow(/x: chunk 0/);
  });

  it('an encrypted backup without keys, or with the wrong ones, fails before reading', () => {
    const sealer = newBackupSealer('shop-1', new Keyring({ active: key('Secret lifeboat/kek key a') }));
    const backup = { metadata: { name: 'shop-1', annotations: sealer.annotations } };
    expect(sealer.annotations[ANNOTATION_ENCRYPTION_KEY]).toBe('Secret lifeboat/kek key a');
    expect(() => openerFor(backup, undefined)).toThrow(
      /backup shop-1 is encrypted with key "Secret lifeboat\/kek key a".*has no encryption keys/,
    );
    expect(() => openerFor(backup, new Keyring({ active: key('other') }))).toThrow(/does not have/);
    expect(openerFor({ metadata: { name: 'plain' } }, undefined)).toBeUndefined();
    const tampered = {
      metadata: {
        name: 'shop-1',
        annotations: { ...sealer.annotations, [ANNOTATION_WRAPPED_DATA_KEY]: 'AAAA' },
      },
    };
    expect(() => openerFor(tampered, new Keyring({ active: key('x') }))).toThrow(/does not have/);
  });
});
