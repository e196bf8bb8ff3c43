import { describe, expect, it } from 'vitest';
import { metadataIssues } from './metadata.js';

describe('metadataIssues', () => {
  it('accepts a DNS-1123 name with Kubernetes-style labels and annotations', () => {
    expect(
      metadataIssues({
        name: 'nightly-shop.eu',
        labels: { 'app.kubernetes.io/name': 'shop', tier: '' },
        annotations: { 'lifeboat.dev/owner': 'anything at all: spaces, UPPER' },
      }),
    ).toEqual([]);
  });

  it.each([
    [{ name: 'Nightly' }, ['metadata', 'name'], 'name "Nightly" must be a DNS-1123 subdomain'],
    [{ name: 'a', labels: { 'bad key!': 'x' } }, ['metadata', 'labels', 'bad key!'], 'label key "bad key!"'],
    [{ name: 'a', labels: { tier: 'has space' } }, ['metadata', 'labels', 'tier'], 'label value "has space"'],
    [
      { name: 'a', annotations: { '/x': 'y' } },
      ['metadata', 'annotations', '/x'],
      'annotation key "/x" has an empty prefix',
    ],
  ])('%j', (metadata, path, message) => {
    const issues = metadataIssues(metadata);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toEqual(path);
    expect(issues[0]?.message).toContain(message);
  });
});
