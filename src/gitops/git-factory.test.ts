import { describe, expect, it } from 'vitest';
import { DEFAULT_IDENTITY, gitEnvironment, parseIdentity, withBatchMode } from './git-factory.js';

describe('gitEnvironment', () => {
  const inherited = {
    PATH: '/usr/bin',
    HOME: '/home/lifeboat',
    GIT_DIR: '/elsewhere',
    GIT_SSH_COMMAND: 'ssh -o StrictHostKeyChecking=no',
    EDITOR: 'vim',
    UNSET: undefined,
  };

  it('drops inherited Git variables and sets ours', () => {
    expect(gitEnvironment({ inherited })).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/lifeboat',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      GIT_TERMINAL_PROMPT: '0',
      GIT_SSH_COMMAND: 'ssh -o BatchMode=yes',
      GIT_AUTHOR_NAME: DEFAULT_IDENTITY.name,
      GIT_AUTHOR_EMAIL: DEFAULT_IDENTITY.email,
      GIT_COMMITTER_NAME: DEFAULT_IDENTITY.name,
      GIT_COMMITTER_EMAIL: DEFAULT_IDENTITY.email,
    });
  });

  it('lets explicit env win but keeps SSH in batch mode', () => {
    const env = gitEnvironment({
      inherited,
      env: { GIT_SSH_COMMAND: 'ssh -i /keys/id_ed25519', HTTPS_PROXY: 'http://proxy:3128' },
      identity: { name: 'lifeboat-prod', email: 'ops@example.com' },
    });
    expect(env.GIT_SSH_COMMAND).toBe('ssh -i /keys/id_ed25519 -o BatchMode=yes');
    expect(env.HTTPS_PROXY).toBe('http://proxy:3128');
    expect(env.GIT_COMMITTER_EMAIL).toBe('ops@example.com');
  });

  it.each([
    { name: '', email: 'a@b' },
    { name: 'x', email: ' ' },
    { name: 'evil <x@y>', email: 'a@b' },
    { name: 'two\nlines', email: 'a@b' },
  ])('rejects identity %j', (identity) => {
    expect(() => gitEnvironment({ inherited: {}, identity })).toThrow(/invalid Git identity/);
  });
});

describe('withBatchMode', () => {
  it.each([
    ['ssh', 'ssh -o BatchMode=yes'],
    ['ssh -o BatchMode=yes', 'ssh -o BatchMode=yes'],
    ['ssh -oBatchMode yes -i k', 'ssh -oBatchMode yes -i k'],
  ])('%s → %s', (input, expected) => {
    expect(withBatchMode(input)).toBe(expected);
  });
});

describe('parseIdentity', () => {
  it.each([
    ['lifeboat <lifeboat@localhost>', { name: 'lifeboat', email: 'lifeboat@localhost' }],
    ['  Backup Bot   <bot@example.com> ', { name: 'Backup Bot', email: 'bot@example.com' }],
  ])('%j', (input, expected) => {
    expect(parseIdentity(input)).toEqual(expected);
  });

  it.each(['lifeboat', '<a@b>', 'x <a b@c>', 'x <a@b> y'])('rejects %j', (input) => {
    expect(() => parseIdentity(input)).toThrow(/expected "Name <email>"/);
  });
});
