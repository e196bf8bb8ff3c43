import { describe, expect, it } from 'vitest';
import { formatPerson, logFormat, parseLog } from './git-log.js';

const US = '\x1f';
const RS = '\x1e';

describe('logFormat', () => {
  it('separates records and fields with control characters', () => {
    expect(logFormat()).toBe('--format=%x1e%H%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%cn%x1f%ce%x1f%cI%x1f%s');
    expect(logFormat(['%(trailers)'])).toMatch(/%s%x1f%\(trailers\)$/);
  });
});

describe('parseLog', () => {
  it('parses commits, extra fields and --name-only files', () => {
    const header = (sha: string, parents: string, subject: string, extra = '') =>
      [
        sha,
        parents,
        'Alice',
        'alice@example.com',
        '2024-03-01T10:00:00+01:00',
        'Carol',
        'carol@example.com',
        '2024-03-02T09:00:00Z',
        subject,
      ].join(US) + extra;
    const out = `${RS}${header('m1', 'p1 p2', "Merge branch 'x'", `${US}backup\x1dexpire`)}\n\nrestores/x.yaml\nrestores/y.yml\n${RS}${header('c1', '', 'root')}\n`;
    expect(parseLog(out)).toEqual([
      {
        commit: {
          sha: 'm1',
          parents: ['p1', 'p2'],
          author: { name: 'Alice', email: 'alice@example.com' },
          authoredAt: new Date('2024-03-01T09:00:00Z'),
          committer: { name: 'Carol', email: 'carol@example.com' },
          committedAt: new Date('2024-03-02T09:00:00Z'),
          subject: "Merge branch 'x'",
        },
        extra: ['backup\x1dexpire'],
        files: ['restores/x.yaml', 'restores/y.yml'],
      },
      expect.objectContaining({
        commit: expect.objectContaining({ sha: 'c1', parents: [] }),
        files: [],
        extra: [],
      }),
    ]);
  });

  it('returns nothing for empty output', () => {
    expect(parseLog('')).toEqual([]);
    expect(parseLog('\n')).toEqual([]);
  });
});

describe('formatPerson', () => {
  it('prints name and e-mail the way Git does', () => {
    expect(formatPerson({ name: 'Alice', email: 'alice@example.com' })).toBe('Alice <alice@example.com>');
  });
});
