// Reading the kubeconfig: which server, and how to authenticate to it. @kubernetes/client-node
// is the authority on kubeconfig files (contexts, in-cluster config, exec plugins, auth
// providers), but importing it costs ~70 MB of resident memory and ~0.4 s, because its
// KubeConfig module pulls in the whole generated API, and a process keeps most of that for
// good. We need it once, to turn a kubeconfig into request options; the requests then go over
// our own agent (client.ts). So a short-lived Node process does it: it loads client-node,
// prints the server and the TLS and auth options, and exits.
//
// Why a process and not a worker thread: both keep client-node out of this heap, but after a
// worker has gone this process still holds ~16 MB more than before (the thread's malloc arena
// keeps what the module loading freed); a process gives everything back.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RequestOptions } from 'node:https';
import type { Readable } from 'node:stream';

export interface KubeconfigOptions {
  /** A kubeconfig file; absent: client-node's default ($KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeconfig?: string;
  context?: string;
}

export interface ResolvedKubeconfig {
  /** The current cluster's server URL. */
  server: string;
  /** TLS material and auth (headers, basic auth) for every request, as client-node applies them. */
  options: RequestOptions;
}

/** Request options client-node may set that a request of ours needs; never its agent. */
const OPTION_KEYS = [
  'ca',
  'cert',
  'key',
  'pfx',
  'passphrase',
  'rejectUnauthorized',
  'servername',
  'headers',
  'auth',
] as const;

/** What the helper answers: the result, or which step failed and why. */
type Answer =
  | { ok: true; server: string; options: Record<string, unknown> }
  | { ok: false; step: 'load' | 'context' | 'cluster' | 'apply'; message: string };

// The helper's code: plain JavaScript run with `node -e`, importing the package's own
// JavaScript, so it runs the same under tsx, vitest (which run src as TypeScript) and the
// compiled CLI. Buffers (CA, client certificate and key) travel as base64.
const HELPER_SOURCE = `
const { url, kubeconfig, context, keys } = JSON.parse(process.argv[1]);
const answer = (a) => {
  const out = require('node:fs').createWriteStream(null, { fd: 3 });
  out.end(JSON.stringify(a), () => process.exit(0));
};
(async () => {
  let step = 'load';
  try {
    const { KubeConfig } = await import(url);
    const kc = new KubeConfig();
    if (kubeconfig) kc.loadFromFile(kubeconfig);
    else kc.loadFromDefault();
    if (context) {
      step = 'context';
      if (!kc.getContextObject(context)) throw new Error('no such context');
      kc.setCurrentContext(context);
    }
    step = 'cluster';
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('no current cluster');
    step = 'apply';
    const applied = {};
    await kc.applyToHTTPSOptions(applied);
    const options = {};
    for (const k of keys) {
      const v = applied[k];
      if (v !== undefined) options[k] = Buffer.isBuffer(v) ? { base64: v.toString('base64') } : v;
    }
    answer({ ok: true, server: cluster.server, options });
  } catch (err) {
    answer({ ok: false, step, message: err instanceof Error ? err.message : String(err) });
  }
})();
`;

/**
 * The server and request options for the kubeconfig's current (or the given) context. Errors
 * name the kubeconfig problem in the operator's terms.
 */
export async function resolveKubeconfig(opts: KubeconfigOptions = {}): Promise<ResolvedKubeconfig> {
  if (!opts.kubeconfig) {
    // client-node silently falls back to http://localhost:8080 when it finds nothing; say so.
    const found =
      Boolean(process.env.KUBECONFIG) ||
      existsSync(join(homedir(), '.kube', 'config')) ||
      Boolean(process.env.KUBERNETES_SERVICE_HOST);
    if (!found) {
      throw new Error('no kubeconfig: set --kubeconfig or $KUBECONFIG, or create ~/.kube/config');
    }
  }
  const answer = await runHelper(opts);
  if (!answer.ok) {
    switch (answer.step) {
      case 'load':
        if (opts.kubeconfig) throw new Error(`cannot read kubeconfig ${opts.kubeconfig}: ${answer.message}`);
        throw new Error(answer.message);
      case 'context':
        throw new Error(`kubeconfig has no context ${JSON.stringify(opts.context)}`);
      case 'cluster':
        throw new Error('kubeconfig has no current cluster (set --kubeconfig or --context)');
      case 'apply':
        throw new Error(answer.message);
    }
  }
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(answer.options)) {
    const base64 = (v as { base64?: unknown } | null)?.base64;
    options[k] = typeof base64 === 'string' ? Buffer.from(base64, 'base64') : v;
  }
  return { server: answer.server, options };
}

async function runHelper(opts: KubeconfigOptions): Promise<Answer> {
  // Resolved here, where node_modules is known; the helper gets a file URL to import.
  const url = pathToFileURL(createRequire(import.meta.url).resolve('@kubernetes/client-node')).href;
  const input = JSON.stringify({
    url,
    kubeconfig: opts.kubeconfig,
    context: opts.context,
    keys: OPTION_KEYS,
  });
  // The same environment (KUBECONFIG, HOME, in-cluster variables) and working directory, so
  // relative paths and exec plugins resolve as they would here. The answer comes on a pipe of
  // its own (fd 3); anything the helper prints goes to our stderr, where warnings reach the
  // operator and never mix with a command's output.
  const child = spawn(process.execPath, ['-e', HELPER_SOURCE, input], {
    stdio: ['ignore', 2, 'inherit', 'pipe'],
  });
  let out = '';
  const answerPipe = child.stdio[3] as Readable;
  answerPipe.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`reading the kubeconfig: ${err.message}`, { cause: err })));
    child.once('close', resolve);
  });
  try {
    return JSON.parse(out) as Answer;
  } catch {
    throw new Error(`reading the kubeconfig: the helper process exited with code ${code} and no answer`);
  }
}
