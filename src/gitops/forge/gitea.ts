// The Gitea adapter: a small typed fetch client for the dozen calls lifeboat makes (Gitea's
// API v1, see its swagger). Not a generated client: the generated ones carry hundreds of calls
// we never make, and these few shapes are checked here where they are read (docs/decisions).
import { ForgeError, forgeHttpError, forgeNetworkError, scrub } from './forge-error.js';
import type { CommitStatus, Forge, PullRequest, Review } from './forge.js';

export interface GiteaOptions {
  /** The forge's base URL, e.g. https://gitea.example.com (a sub-path is kept). */
  url: string;
  owner: string;
  repo: string;
  /** An access token with read and write on the repository's issues, pulls and statuses. */
  token: string;
  /** Per request (default 15 s): a hung forge must not hold up a reconcile pass. */
  timeoutMs?: number;
  /** Pages of 50 read at most when searching lists (default 20). */
  maxPages?: number;
  fetch?: typeof fetch;
}

interface GiteaUser {
  login?: string;
  username?: string;
}
interface GiteaPull {
  number: number;
  html_url: string;
  state: string;
  merged?: boolean;
  merged_by?: GiteaUser | null;
  merge_commit_sha?: string | null;
  merged_at?: string | null;
  head?: { ref?: string };
  base?: { ref?: string };
}
interface GiteaComment {
  id: number;
  body?: string;
}
interface GiteaReview {
  user?: GiteaUser | null;
  state?: string;
  stale?: boolean;
  dismissed?: boolean;
  commit_id?: string;
}

const PAGE = 50;

export class GiteaForge implements Forge {
  readonly kind = 'gitea';
  readonly #base: string;
  readonly #repoPath: string;
  readonly #token: string;
  readonly #timeoutMs: number;
  readonly #maxPages: number;
  readonly #fetch: typeof fetch;
  readonly #web: string;

  constructor(opts: GiteaOptions) {
    if (!opts.token)
      throw new ForgeError('auth', 'gitea: no token (set $LIFEBOAT_FORGE_TOKEN or --forge-token-file)');
    const base = new URL(opts.url);
    if (base.username || base.password)
      throw new ForgeError('rejected', 'gitea: the forge URL must not carry credentials');
    const root = base.toString().replace(/\/+$/, '');
    this.#base = `${root}/api/v1`;
    this.#web = `${root}/${encodeURIComponent(opts.owner)}/${encodeURIComponent(opts.repo)}`;
    this.#repoPath = `/repos/${encodeURIComponent(opts.owner)}/${encodeURIComponent(opts.repo)}`;
    this.#token = opts.token;
    this.#timeoutMs = opts.timeoutMs ?? 15_000;
    this.#maxPages = opts.maxPages ?? 20;
    this.#fetch = opts.fetch ?? fetch;
  }

  fileUrl(branch: string, path: string): string {
    const enc = (s: string) => s.split('/').map(encodeURIComponent).join('/');
    return `${this.#web}/src/branch/${enc(branch)}/${enc(path)}`;
  }

  async findOrOpenPullRequest(opts: {
    head: string;
    base: string;
    title: string;
    body: string;
  }): Promise<{ pr: PullRequest; opened: boolean }> {
    const open = await this.#find<GiteaPull>(`${this.#repoPath}/pulls?state=open`, (p) => {
      return p.head?.ref === opts.head && p.base?.ref === opts.base;
    });
    if (open) return { pr: toPull(open), opened: false };
    const created = await this.#call<GiteaPull>('POST', `${this.#repoPath}/pulls`, {
      head: opts.head,
      base: opts.base,
      title: opts.title,
      body: opts.body,
    });
    return { pr: toPull(created), opened: true };
  }

  async pullRequestOfCommit(sha: string): Promise<PullRequest | undefined> {
    try {
      return toPull(
        await this.#call<GiteaPull>('GET', `${this.#repoPath}/commits/${encodeURIComponent(sha)}/pull`),
      );
    } catch (err) {
      if (err instanceof ForgeError && err.kind === 'not-found') return undefined;
      throw err;
    }
  }

  async upsertComment(pr: number, marker: string, body: string): Promise<{ id: number; created: boolean }> {
    if (!body.includes(marker)) throw new Error('upsertComment: the body must contain its marker');
    const existing = await this.#find<GiteaComment>(
      `${this.#repoPath}/issues/${pr}/comments?`,
      (c) => c.body?.includes(marker) === true,
    );
    if (existing) {
      if (existing.body !== body)
        await this.#call('PATCH', `${this.#repoPath}/issues/comments/${existing.id}`, { body });
      return { id: existing.id, created: false };
    }
    const created = await this.#call<GiteaComment>('POST', `${this.#repoPath}/issues/${pr}/comments`, {
      body,
    });
    return { id: created.id, created: true };
  }

  async setStatus(sha: string, status: CommitStatus): Promise<void> {
    await this.#call('POST', `${this.#repoPath}/statuses/${encodeURIComponent(sha)}`, {
      context: status.context,
      state: status.state,
      description: status.description.slice(0, 255),
      ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
    });
  }

  async reviews(pr: number): Promise<Review[]> {
    const all = await this.#list<GiteaReview>(`${this.#repoPath}/pulls/${pr}/reviews?`);
    return all.map((r) => ({
      user: r.user?.login ?? r.user?.username ?? '',
      state:
        r.state === 'APPROVED'
          ? 'approved'
          : r.state === 'REQUEST_CHANGES'
            ? 'changes-requested'
            : r.state === 'COMMENT'
              ? 'commented'
              : 'other',
      ...(r.commit_id ? { commit: r.commit_id } : {}),
      stale: r.stale === true || r.dismissed === true,
    }));
  }

  async teamMembers(team: string): Promise<string[]> {
    const [org, name, ...rest] = team.split('/');
    if (!org || !name || rest.length > 0) throw new Error(`team "${team}" is not organization/team`);
    // Team names are unique within an organization, but the search matches substrings.
    const found = await this.#call<{ data?: { id: number; name: string }[] }>(
      'GET',
      `/orgs/${encodeURIComponent(org)}/teams/search?q=${encodeURIComponent(name)}&limit=${PAGE}`,
    );
    const hit = (found.data ?? []).find((t) => t.name.toLowerCase() === name.toLowerCase());
    if (!hit) throw new ForgeError('not-found', `gitea: no team ${name} in organization ${org}`);
    const members = await this.#list<GiteaUser>(`/teams/${hit.id}/members?`);
    return members.map((m) => m.login ?? m.username ?? '').filter((m) => m !== '');
  }

  /** The first item of a paged list that matches, reading at most maxPages pages. */
  async #find<T>(path: string, match: (item: T) => boolean): Promise<T | undefined> {
    for (let page = 1; page <= this.#maxPages; page++) {
      const items = await this.#call<T[]>('GET', `${path}${sep(path)}page=${page}&limit=${PAGE}`);
      const hit = items.find(match);
      if (hit !== undefined) return hit;
      if (items.length < PAGE) return undefined;
    }
    return undefined;
  }

  async #list<T>(path: string): Promise<T[]> {
    const out: T[] = [];
    for (let page = 1; page <= this.#maxPages; page++) {
      const items = await this.#call<T[]>('GET', `${path}${sep(path)}page=${page}&limit=${PAGE}`);
      out.push(...items);
      if (items.length < PAGE) break;
    }
    return out;
  }

  async #call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const secrets = [this.#token];
    const shownPath = path.replace(/[?&]page=.*$/, '').replace(/\?$/, '');
    let res: Response;
    try {
      res = await this.#fetch(`${this.#base}${path}`, {
        method,
        headers: {
          authorization: `token ${this.#token}`,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'error',
      });
    } catch (cause) {
      throw forgeNetworkError({ method, path: shownPath, cause, secrets });
    }
    const text = await res.text();
    if (!res.ok) throw forgeHttpError({ method, path: shownPath, status: res.status, body: text, secrets });
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ForgeError(
        'unavailable',
        scrub(`${method} ${shownPath}: the forge answered with something other than JSON`, secrets),
      );
    }
  }
}

const sep = (path: string) => (path.endsWith('?') ? '' : path.includes('?') ? '&' : '?');

function toPull(p: GiteaPull): PullRequest {
  const mergedBy = p.merged_by?.login ?? p.merged_by?.username;
  return {
    number: p.number,
    url: p.html_url,
    head: p.head?.ref ?? '',
    base: p.base?.ref ?? '',
    state: p.state === 'open' ? 'open' : 'closed',
    merged: p.merged === true,
    ...(p.merged && mergedBy ? { mergedBy } : {}),
    ...(p.merged && p.merge_commit_sha ? { mergeCommit: p.merge_commit_sha } : {}),
    ...(p.merged && p.merged_at ? { mergedAt: p.merged_at } : {}),
  };
}
