import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/types.js';
import { diffEntries } from './diff.js';
import {
  containsSecretValue,
  fingerprint,
  redactEntries,
  redactObject,
  scrubText,
  secretValueForms,
} from './redact.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const PASSWORD = 'hunter2-correct-horse';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function secret(data: Record<string, string>, extra: Partial<KubeObject> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db', namespace: 'shop' },
    type: 'Opaque',
    data,
    ...extra,
  };
}

describe('fingerprint', () => {
  it('is sha256: and the first 12 hex digits of the sha256 of the value', () => {
    const hex = createHash('sha256').update(PASSWORD).digest('hex');
    expect(fingerprint(PASSWORD)).toBe(`sha256:${hex.slice(0, 12)}`);
  });
});

describe('redactObject', () => {
  it('fingerprints data over the decoded bytes and stringData over the string, so both agree', () => {
    const out = redactObject(
      secret(
        { password: b64(PASSWORD) },
        {
          stringData: { password: PASSWORD },
          metadata: {
            name: 'db',
            annotations: { [LAST_APPLIED]: `{"data":{"password":"${b64(PASSWORD)}"}}`, other: 'kept' },
          },
        },
      ),
    );
    expect(out.data).toEqual({ password: fingerprint(PASSWORD) });
    expect(out.stringData).toEqual({ password: fingerprint(PASSWORD) });
    expect(out.metadata.annotations?.other).toBe('kept');
    expect(out.metadata.annotations?.[LAST_APPLIED]).toMatch(/^sha256:[0-9a-f]{12}$/);
    expect(out.type).toBe('Opaque');
  });

  it('leaves other kinds alone, a ConfigMap included', () => {
    const cm: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
      data: { password: PASSWORD },
    };
    expect(redactObject(cm)).toEqual(cm);
  });

  it('does not modify its input', () => {
    const input = secret({ password: b64(PASSWORD) });
    redactObject(input);
    expect(input.data).toEqual({ password: b64(PASSWORD) });
  });
});

describe('redactEntries', () => {
  it.each<[string, KubeObject | null]>([
    ['a changed value', secret({ password: b64('old-value-1') })],
    ['a new key', secret({})],
    ['a whole new Secret', null],
    [
      'a live Secret whose data is not a map',
      secret({}, { data: 'broken' as unknown as Record<string, string> }),
    ],
  ])('fingerprints %s', (_label, live) => {
    const desired = secret({ password: b64(PASSWORD) });
    const entries = redactEntries(diffEntries(desired, live), desired);
    const text = JSON.stringify(entries);
    expect(entries.length).toBeGreaterThan(0);
    expect(containsSecretValue(text, [desired, live])).toBe(false);
    expect(text).toContain(fingerprint(PASSWORD));
  });

  it('keeps entries of other kinds as they are', () => {
    const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } };
    const entries = diffEntries(cm, null);
    expect(redactEntries(entries, cm)).toEqual(entries);
  });
});

describe('secret value forms and scrubbing', () => {
  const s = secret({ password: b64(PASSWORD), pin: b64('12') }, { stringData: { token: 'tok-abcdef' } });

  it('knows the stored, decoded and encoded forms, skipping very short ones', () => {
    const forms = secretValueForms([s, null]);
    expect(forms).toEqual(expect.arrayContaining([PASSWORD, b64(PASSWORD), 'tok-abcdef', b64('tok-abcdef')]));
    expect(forms).not.toContain('12');
  });

  it('replaces every form in free text', () => {
    const text = `invalid value "${PASSWORD}" and "${b64(PASSWORD)}"; token tok-abcdef`;
    const scrubbed = scrubText(text, secretValueForms([s]));
    expect(containsSecretValue(scrubbed, [s])).toBe(false);
    expect(scrubbed).toContain(fingerprint(PASSWORD));
  });

  it('finds a value in text', () => {
    expect(containsSecretValue(`x ${PASSWORD} y`, [s])).toBe(true);
    expect(containsSecretValue('nothing here', [s])).toBe(false);
  });
});

describe('scrubbing leaves names a reader must see', () => {
  const token = secret(
    { namespace: b64('shop'), token: b64('eyJhbGciOiJSUzI1NiJ9.payload.sig') },
    { type: 'kubernetes.io/service-account-token' },
  );

  it('does not search free text for a token Secret\u2019s namespace', () => {
    const forms = secretValueForms([token]);
    expect(forms).not.toContain('shop');
    expect(forms).toContain('eyJhbGciOiJSUzI1NiJ9.payload.sig');
  });

  it('keeps a disclosed name that equals a Secret value, and scrubs the value elsewhere', () => {
    const s = secret({ password: b64('shop-prod') });
    const text = 'namespaces "shop-prod" not found; password=shop-prod2 and x-shop-prod';
    const scrubbed = scrubText(text, secretValueForms([s]), ['shop-prod']);
    expect(scrubbed).toContain('namespaces "shop-prod" not found');
    expect(scrubbed).not.toContain('shop-prod2');
    expect(scrubbed).not.toContain('x-shop-prod');
  });

  it('scrubs a value that only partly overlaps a disclosed name', () => {
    const s = secret({ password: b64('shop secret') });
    const scrubbed = scrubText('value "shop secret" in shop', secretValueForms([s]), ['shop']);
    expect(scrubbed).toBe(`value "${fingerprint('shop secret')}" in shop`);
  });

  it('replaces overlapping occurrences as one', () => {
    const s = secret({ a: b64('abcdef'), b: b64('defghi') });
    const scrubbed = scrubText('x abcdefghi y', secretValueForms([s]));
    expect(scrubbed).toBe(`x ${fingerprint('abcdefghi')} y`);
  });
});
