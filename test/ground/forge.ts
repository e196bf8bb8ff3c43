// A forge on the test ground: the real Gitea (built by scripts/build-gitea.sh), on loopback with
// SQLite, an admin and two ordinary users with API tokens, and a policy repository the users
// may write to. For the pull-request tests (test/forge-*.test.ts), `npm run cluster` and the
// demo. Gitea refuses to run as root unless told it may (I_AM_BEING_UNSAFE_RUNNING_AS_ROOT);
// the ground runs as root for the node, so it is told, and listens on 127.0.0.1 only.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ForgeInfo, ForgeUser } from './context.js';
import { freePort, startProcess, stopProcess, waitFor } from './process.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const versions = JSON.parse(readFileSync(join(here, 'versions.json'), 'utf8')) as { gitea: string };

export function giteaBinary(): string {
  const bin = join(
    process.env.LIFEBOAT_CACHE ?? join(homedir(), '.cache', 'lifeboat'),
    'gitea',
    versions.gitea,
    'gitea',
  );
  if (!existsSync(bin) || !existsSync(join(dirname(bin), 'options')))
    throw new Error(`Gitea is not built: ${bin} missing. Run 'bash scripts/build-gitea.sh'.`);
  return bin;
}

export interface Forge {
  info: ForgeInfo;
  stop(): Promise<void>;
}

const ROOT_ENV = { GITEA_I_AM_BEING_UNSAFE_RUNNING_AS_ROOT: 'true' };

function appIni(dir: string, port: number, staticRoot: string): string {
  const secret = () => randomBytes(32).toString('hex');
  return `APP_NAME = lifeboat ground
RUN_MODE = prod
RUN_USER = ${userInfo().username}
WORK_PATH = ${dir}
I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = ${port}
ROOT_URL = http://127.0.0.1:${port}/
DISABLE_SSH = true
START_SSH_SERVER = false
OFFLINE_MODE = true
LFS_START_SERVER = false
APP_DATA_PATH = ${dir}/data
; locales and templates beside the binary (scripts/build-gitea.sh)
STATIC_ROOT_PATH = ${staticRoot}

[database]
DB_TYPE = sqlite3
PATH = ${dir}/data/gitea.db
SQLITE_JOURNAL_MODE = WAL

[repository]
ROOT = ${dir}/repos
DEFAULT_BRANCH = main

[security]
INSTALL_LOCK = true
SECRET_KEY = ${secret()}
INTERNAL_TOKEN = ${secret()}
; webhooks go to the reconciler on this machine
ALLOWED_HOST_LIST = loopback

[oauth2]
ENABLED = false

[service]
DISABLE_REGISTRATION = true
DEFAULT_KEEP_EMAIL_PRIVATE = true

[mailer]
ENABLED = false

[session]
PROVIDER = memory

[cache]
ADAPTER = memory

[queue]
TYPE = channel

[indexer]
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false

[actions]
ENABLED = false

[packages]
ENABLED = false

[cron]
ENABLED = false

[cron.update_checker]
ENABLED = false

[webhook]
DELIVER_TIMEOUT = 10

[log]
MODE = console
LEVEL = Warn
`;
}

async function gitea(bin: string, config: string, dir: string, args: string[]): Promise<string> {
  const { stdout } = await run(bin, [...args, '--config', config, '--work-path', dir], {
    env: { ...process.env, ...ROOT_ENV },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

async function createUser(
  bin: string,
  config: string,
  dir: string,
  user: { username: string; admin: boolean },
): Promise<ForgeUser> {
  const password = randomBytes(12).toString('hex');
  const out = await gitea(bin, config, dir, [
    'admin',
    'user',
    'create',
    ...(user.admin ? ['--admin'] : []),
    '--username',
    user.username,
    '--password',
    password,
    '--email',
    `${user.username}@lifeboat.test`,
    '--must-change-password=false',
    '--access-token',
    '--access-token-name',
    'ground',
    '--access-token-scopes',
    'all',
  ]);
  const token = /Access token was successfully created\.\.\. (\S+)/.exec(out)?.[1];
  if (!token) throw new Error(`gitea admin user create ${user.username} printed no token:\n${out}`);
  return { username: user.username, password, token, email: `${user.username}@lifeboat.test` };
}

/** Start Gitea in `dir` (created): users, tokens and the policy repository. */
export async function startForge(opts: { dir: string; log?: (line: string) => void }): Promise<Forge> {
  const bin = giteaBinary();
  const log = opts.log ?? (() => undefined);
  await mkdir(join(opts.dir, 'data'), { recursive: true });
  const port = await freePort();
  const config = join(opts.dir, 'app.ini');
  await writeFile(config, appIni(opts.dir, port, dirname(bin)));
  const t0 = Date.now();
  await gitea(bin, config, opts.dir, ['migrate']);
  const admin = await createUser(bin, config, opts.dir, { username: 'lifeboat-admin', admin: true });
  const alice = await createUser(bin, config, opts.dir, { username: 'alice', admin: false });
  const bob = await createUser(bin, config, opts.dir, { username: 'bob', admin: false });
  const proc = startProcess({
    name: 'gitea',
    bin,
    args: ['web', '--config', config, '--work-path', opts.dir],
    logDir: opts.dir,
    env: ROOT_ENV,
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(proc, async () => (await fetch(`${url}/api/v1/version`)).ok);
    const info: ForgeInfo = {
      url,
      admin,
      users: [alice, bob],
      policyRepo: { owner: '', name: '', cloneUrl: '' },
    };
    info.policyRepo = await createForgeRepo(info, 'policies');
    log(`gitea ${versions.gitea} on ${url} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return { info, stop: () => stopProcess(proc) };
  } catch (err) {
    await stopProcess(proc);
    throw err;
  }
}

/** Calls the forge's API as a user (the tests' and the ground's own client; lifeboat has its own). */
export async function forgeApi<T = unknown>(
  info: ForgeInfo,
  call: { as: ForgeUser; method: string; path: string; body?: unknown },
): Promise<{ status: number; body: T }> {
  const { as, method, path, body } = call;
  const res = await fetch(`${info.url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `token ${as.token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function mustApi<T>(
  info: ForgeInfo,
  call: { as: ForgeUser; method: string; path: string; body?: unknown },
): Promise<T> {
  const res = await forgeApi<T>(info, call);
  const { method, path } = call;
  if (res.status >= 300)
    throw new Error(`gitea ${method} ${path}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/**
 * An empty repository owned by the admin, with main as default branch; the ordinary users are
 * collaborators with write access (they push review branches and approve).
 */
export async function createForgeRepo(
  info: ForgeInfo,
  name: string,
): Promise<{ owner: string; name: string; cloneUrl: string }> {
  const repo = await mustApi<{ clone_url: string; owner: { login: string } }>(info, {
    as: info.admin,
    method: 'POST',
    path: '/user/repos',
    body: { name, private: false, auto_init: false, default_branch: 'main' },
  });
  for (const u of info.users)
    await mustApi(info, {
      as: info.admin,
      method: 'PUT',
      path: `/repos/${repo.owner.login}/${name}/collaborators/${u.username}`,
      body: { permission: 'write' },
    });
  return { owner: repo.owner.login, name, cloneUrl: repo.clone_url };
}

/**
 * Git's environment to push to the forge as a user over HTTP: Basic credentials in an extra
 * header for this process only (never in a URL or .git/config).
 */
export function forgeGitEnv(info: ForgeInfo, as: ForgeUser): Record<string, string> {
  const basic = Buffer.from(`${as.username}:${as.token}`).toString('base64');
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: `http.${info.url}/.extraHeader`,
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
  };
}
