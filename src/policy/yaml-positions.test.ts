import { LineCounter, parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { FieldPath } from './types.js';
import { DocumentLocator } from './yaml-positions.js';
import type { Anchor } from './yaml-positions.js';

const text = [
  '# comment',
  'metadata:',
  '  name: a',
  '  labels: { app.kubernetes.io/name: shop }',
  'spec:',
  '  list:',
  '    - first',
  '    - { key: k }',
  '  empty:',
  '  shared: &ns [a, b]',
  '  again: *ns',
  '',
].join('\n');
const lines = new LineCounter();
const locator = new DocumentLocator(parseDocument(text, { lineCounter: lines }), lines);

describe('DocumentLocator.locate', () => {
  it.each<[FieldPath, Anchor, number, number]>([
    [[], 'value', 2, 1],
    [['metadata', 'name'], 'value', 3, 9],
    [['metadata', 'name'], 'key', 3, 3],
    [['metadata', 'labels', 'app.kubernetes.io/name'], 'value', 4, 37],
    [['spec', 'list', 1, 'key'], 'value', 8, 14],
    [['spec', 'list', 1], 'value', 8, 7],
    // An empty value has no position of its own: its key is used.
    [['spec', 'empty'], 'value', 9, 3],
    // Missing fields resolve to the nearest ancestor that exists.
    [['spec', 'missing', 'deeper'], 'key', 5, 1],
    [['spec', 'list', 5], 'value', 6, 3],
    [['metadata', 'name', 'inside-a-scalar'], 'value', 3, 3],
    // Through an alias, to where the anchored node is written.
    [['spec', 'again', 1], 'value', 10, 19],
  ])('%j (%s) -> %i:%i', (path, at, line, column) => {
    expect(locator.locate(path, at)).toEqual({ line, column });
  });
});

describe('DocumentLocator.fields', () => {
  it('lists the value position of every field written', () => {
    expect(locator.fields()).toMatchObject({
      '': { line: 2, column: 1 },
      'metadata.name': { line: 3, column: 9 },
      'metadata.labels["app.kubernetes.io/name"]': { line: 4, column: 37 },
      'spec.list[0]': { line: 7, column: 7 },
      'spec.list[1].key': { line: 8, column: 14 },
      'spec.empty': { line: 9, column: 3 },
    });
  });
});
