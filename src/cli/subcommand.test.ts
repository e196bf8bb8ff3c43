import { describe, expect, it } from 'vitest';
import { subcommandOf } from './subcommand.js';

const VALUE_FLAGS = new Set(['--storage', '-o', '--output', '--kubeconfig']);

describe('subcommandOf', () => {
  it.each([
    [['validate', 'policies/'], 'validate'],
    [['--storage', 'backups', 'backup', 'list'], 'backup'],
    [['--storage=backups', 'backup', 'list'], 'backup'],
    [['-o', 'json', '--kubeconfig', 'k', 'restore', 'plan'], 'restore'],
    [['--log-level=debug', 'reconcile', '--once'], 'reconcile'],
    [['--', 'audit'], 'audit'],
    [['--version'], undefined],
    [['--help'], undefined],
    [[], undefined],
    [['-o', 'json'], undefined],
  ])('%j names %s', (args, expected) => {
    expect(subcommandOf(args, VALUE_FLAGS)).toBe(expected);
  });
});
