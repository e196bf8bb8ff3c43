import { describe, expect, it } from 'vitest';
import type { LabelSelector } from '../../backup/spec.js';
import { labelSelectorIssues } from './selectors.js';

const at = ['spec', 'labelSelector'];

describe('labelSelectorIssues', () => {
  it('accepts well-formed selectors', () => {
    const selector: LabelSelector = {
      matchLabels: { 'app.kubernetes.io/name': 'shop' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['web', 'api'] },
        { key: 'lifeboat.dev/skip', operator: 'DoesNotExist' },
      ],
    };
    expect(labelSelectorIssues(selector, at)).toEqual([]);
  });

  it.each<[string, LabelSelector, (string | number)[], string]>([
    [
      'bad matchLabels key',
      { matchLabels: { 'a b': 'x' } },
      [...at, 'matchLabels', 'a b'],
      'label key "a b"',
    ],
    ['bad matchLabels value', { matchLabels: { a: '-x' } }, [...at, 'matchLabels', 'a'], 'label value "-x"'],
    [
      'In without values',
      { matchExpressions: [{ key: 'a', operator: 'In' }] },
      [...at, 'matchExpressions', 0, 'values'],
      'operator In needs at least one value',
    ],
    [
      'NotIn with empty values',
      { matchExpressions: [{ key: 'a', operator: 'NotIn', values: [] }] },
      [...at, 'matchExpressions', 0, 'values'],
      'operator NotIn needs at least one value',
    ],
    [
      'Exists with values',
      { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] },
      [...at, 'matchExpressions', 0, 'values'],
      'operator Exists takes no values',
    ],
    [
      'bad expression key',
      { matchExpressions: [{ key: 'x/', operator: 'Exists' }] },
      [...at, 'matchExpressions', 0, 'key'],
      'label key "x/" has an empty name',
    ],
    [
      'bad expression value',
      { matchExpressions: [{ key: 'a', operator: 'In', values: ['ok', 'not ok'] }] },
      [...at, 'matchExpressions', 0, 'values', 1],
      'label value "not ok"',
    ],
  ])('%s', (_title, selector, path, message) => {
    const issues = labelSelectorIssues(selector, at);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'selector', path });
    expect(issues[0]?.message).toContain(message);
  });
});
