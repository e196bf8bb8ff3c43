import { describe, expect, it } from 'vitest';
import { inlineCredentialValues, looksLikeCredentialField, looksLikeCredentialValue } from './credentials.js';

describe('looksLikeCredentialField', () => {
  it.each([
    'secretAccessKey',
    'aws_secret_access_key',
    'accessKey',
    'access_key_id',
    'password',
    'sessionToken',
    'apiKey',
    'key',
  ])('%s is a credential field', (name) => {
    expect(looksLikeCredentialField(name)).toBe(true);
  });

  it.each(['bucket', 'region', 'keepLast', 'credential', 'profile'])('%s is not', (name) => {
    expect(looksLikeCredentialField(name)).toBe(false);
  });
});

describe('looksLikeCredentialValue', () => {
  it.each([
    ['AKIAIOSFODNN7EXAMPLE', true],
    ['id ASIAIOSFODNN7EXAMPLE here', true],
    ['-----BEGIN RSA PRIVATE KEY-----\nMIIE...', true],
    ['AKIA-not-a-key', false],
    ['nightly-shop', false],
  ])('%j -> %s', (value, expected) => {
    expect(looksLikeCredentialValue(value)).toBe(expected);
  });
});

describe('inlineCredentialValues', () => {
  it('finds credential-looking values at any depth, without repeating them', () => {
    const issues = inlineCredentialValues({
      metadata: { annotations: { note: 'AKIAIOSFODNN7EXAMPLE' } },
      spec: { list: ['ok', '-----BEGIN PRIVATE KEY-----'] },
    });
    expect(issues.map((i) => [i.code, i.path])).toEqual([
      ['inline-credential', ['metadata', 'annotations', 'note']],
      ['inline-credential', ['spec', 'list', 1]],
    ]);
    expect(JSON.stringify(issues)).not.toContain('AKIAIOSFODNN7EXAMPLE');
  });
});
