import { describe, expect, it } from 'vitest';
import { httpTokenEnvironment } from './http-token.js';

describe('httpTokenEnvironment', () => {
  it('gives Git a Basic Authorization header for exactly this remote, through the environment', () => {
    expect(httpTokenEnvironment('https://git.example.com/platform/policies.git', 's3cr3t')).toEqual({
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.https://git.example.com/platform/policies.git.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from('x-access-token:s3cr3t').toString('base64')}`,
    });
  });

  it('drops credentials, query and fragment from the URL the header is scoped to', () => {
    const env = httpTokenEnvironment('https://someone:pw@git.example.com/p.git?x=1#y', 't');
    expect(env.GIT_CONFIG_KEY_0).toBe('http.https://git.example.com/p.git.extraHeader');
  });

  it.each([
    ['git@git.example.com:platform/policies.git', 't'],
    ['/srv/git/policies.git', 't'],
    ['https://git.example.com/p.git', undefined],
    ['https://git.example.com/p.git', ''],
  ])('sets nothing for %j with token %j', (url, token) => {
    expect(httpTokenEnvironment(url, token)).toEqual({});
  });
});
