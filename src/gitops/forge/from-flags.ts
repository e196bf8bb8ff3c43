// The forge from reconciler flags: `--forge gitea --forge-url URL [--forge-repo owner/name]`,
// the token from $LIFEBOAT_FORGE_TOKEN or --forge-token-file (a mounted Secret), never from
// Git or a command line. Without --forge there is no forge and plain Git works as before.
import { readFileSync } from 'node:fs';
import type { Forge } from './forge.js';
import { GiteaForge } from './gitea.js';

export interface ForgeFlags {
  forge?: string;
  forgeUrl?: string;
  forgeRepo?: string;
  forgeTokenFile?: string;
}

/** owner/name from --forge-repo, or from the policy repository's URL (…/owner/name[.git]). */
export function forgeRepoOf(flags: ForgeFlags, repoUrl: string): { owner: string; repo: string } {
  const text =
    flags.forgeRepo ??
    repoUrl
      .replace(/\.git$/, '')
      .split(/[/:]/)
      .slice(-2)
      .join('/');
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(text);
  if (!m?.[1] || !m[2]) throw new Error(`--forge-repo: "${text}" is not owner/name`);
  return { owner: m[1], repo: m[2] };
}

export function forgeFromFlags(
  flags: ForgeFlags,
  repoUrl: string,
  env: NodeJS.ProcessEnv,
): Forge | undefined {
  if (!flags.forge) return undefined;
  if (flags.forge !== 'gitea') throw new Error(`--forge ${flags.forge}: only gitea is supported`);
  if (!flags.forgeUrl) throw new Error('--forge gitea needs --forge-url');
  const token = flags.forgeTokenFile
    ? readFileSync(flags.forgeTokenFile, 'utf8').trim()
    : (env.LIFEBOAT_FORGE_TOKEN ?? '').trim();
  const { owner, repo } = forgeRepoOf(flags, repoUrl);
  return new GiteaForge({ url: flags.forgeUrl, owner, repo, token });
}
