import { describe, expect, it } from 'vitest';
import { formatFieldPath, fromJsonPointer } from './field-path.js';

describe('formatFieldPath', () => {
  it.each([
    [[], ''],
    [['spec'], 'spec'],
    [['spec', 'template', 'ttl'], 'spec.template.ttl'],
    [['spec', 'template', 'includedNamespaces', 0], 'spec.template.includedNamespaces[0]'],
    [['metadata', 'labels', 'app.kubernetes.io/name'], 'metadata.labels["app.kubernetes.io/name"]'],
    [['spec', 'namespaceMapping', 'old-shop'], 'spec.namespaceMapping.old-shop'],
    [['spec', 'namespaceMapping', '1shop'], 'spec.namespaceMapping["1shop"]'],
  ] as const)('%j -> %s', (path, expected) => {
    expect(formatFieldPath(path)).toBe(expected);
  });
});

describe('fromJsonPointer', () => {
  const data = {
    spec: { orLabelSelectors: [{ matchLabels: { '1': 'x' } }], namespaceMapping: { '01': 'a' } },
    metadata: { labels: { 'a/b~c': 'v' } },
  };
  it.each([
    ['', []],
    ['/spec', ['spec']],
    ['/spec/orLabelSelectors/0/matchLabels/1', ['spec', 'orLabelSelectors', 0, 'matchLabels', '1']],
    ['/metadata/labels/a~1b~0c', ['metadata', 'labels', 'a/b~c']],
    ['/spec/namespaceMapping/01', ['spec', 'namespaceMapping', '01']],
    ['/spec/missing/0', ['spec', 'missing', '0']],
  ] as const)('%s', (pointer, expected) => {
    expect(fromJsonPointer(pointer, data)).toEqual(expected);
  });
});
