import { describe, expect, it } from 'vitest';
import { formatCommitMessage } from './commit-message.js';

describe('formatCommitMessage', () => {
  it.each([
    [{ message: 'status' }, 'status\n'],
    [{ message: '  status\n\n', trailers: {} }, 'status\n'],
    [
      {
        message: 'backup nightly-1',
        trailers: { 'Lifeboat-Action': 'backup', 'Lifeboat-Backup': 'nightly-1' },
      },
      'backup nightly-1\n\nLifeboat-Action: backup\nLifeboat-Backup: nightly-1\n',
    ],
    [
      {
        message: 'expire\n\ntwo backups',
        trailers: { 'Lifeboat-Action': 'expire', 'Lifeboat-Backup': ['a', 'b'] },
      },
      'expire\n\ntwo backups\n\nLifeboat-Action: expire\nLifeboat-Backup: a\nLifeboat-Backup: b\n',
    ],
  ])('%j', (input, expected) => {
    expect(formatCommitMessage(input)).toBe(expected);
  });

  it.each([
    [{ message: ' ' }, /must not be empty/],
    [{ message: 'x', trailers: { 'Bad Key': 'v' } }, /keys are letters, digits and "-"/],
    [{ message: 'x', trailers: { 'Lifeboat-Action': '' } }, /one non-empty line/],
    [{ message: 'x', trailers: { 'Lifeboat-Action': 'a\nLifeboat-Restore: forged' } }, /one non-empty line/],
    [{ message: 'x', trailers: { 'Lifeboat-Backup': ['ok', 'bad\r'] } }, /one non-empty line/],
  ])('rejects %j', (input, error) => {
    expect(() => formatCommitMessage(input)).toThrow(error);
  });
});
