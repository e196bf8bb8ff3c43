import { describe, expect, it } from 'vitest';
import { httpsToken } from './reconcile.js';

describe('httpsToken', () => {
  it('gives the token to HTTPS remotes without credentials of their own', () => {
    expect(httpsToken('https://git.example.com/a/b.git', 't0k')).toBe('t0k');
    expect(httpsToken('https://me@git.example.com/a/b.git', 't0k')).toBeUndefined();
    expect(httpsToken('https://git.example.com/a/b.git', undefined)).toBeUndefined();
  });

  it('gives it to plain http only on loopback', () => {
    expect(httpsToken('http://127.0.0.1:3000/a/b.git', 't0k')).toBe('t0k');
    expect(httpsToken('http://localhost:3000/a/b.git', 't0k')).toBe('t0k');
    expect(httpsToken('http://[::1]:3000/a/b.git', 't0k')).toBe('t0k');
    expect(httpsToken('http://git.example.com/a/b.git', 't0k')).toBeUndefined();
    expect(httpsToken('http://127.0.0.1.example.com/a/b.git', 't0k')).toBeUndefined();
  });

  it('gives none to SSH or path remotes', () => {
    expect(httpsToken('git@github.com:a/b.git', 't0k')).toBeUndefined();
    expect(httpsToken('/srv/policies.git', 't0k')).toBeUndefined();
  });
});
