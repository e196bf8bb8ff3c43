// A second S3 server (versitygw, the ground's binary) that a test starts for itself, with the
// options the shared one does not have: TLS on a certificate of the test's own CA. It runs on a
// free loopback port with its own directories under the ground's work dir, and stops with the
// test. The CA is made here with openssl, as an operator would for a private MinIO or Ceph.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { groundBinaries } from './ground.js';
import { freePort, startProcess, stopProcess, waitFor } from './process.js';

const run = promisify(execFile);

export interface TestCa {
  /** The CA's certificate (PEM): what a client must trust. */
  caPem: string;
  /** The server's certificate and key files, for 127.0.0.1 (IP SAN) and localhost. */
  certPath: string;
  keyPath: string;
}

/** A self-signed CA and a server certificate it signed, in `dir`. */
export async function makeTestCa(dir: string): Promise<TestCa> {
  await mkdir(dir, { recursive: true });
  const p = (f: string) => join(dir, f);
  const openssl = (args: string[]) => run('openssl', args, { cwd: dir });
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', p('ca.key')]);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    p('ca.key'),
    '-sha256',
    '-days',
    '2',
    '-subj',
    '/CN=lifeboat test CA',
    '-out',
    p('ca.crt'),
  ]);
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', p('server.key')]);
  await openssl(['req', '-new', '-key', p('server.key'), '-subj', '/CN=127.0.0.1', '-out', p('server.csr')]);
  await writeFile(p('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await openssl([
    'x509',
    '-req',
    '-in',
    p('server.csr'),
    '-CA',
    p('ca.crt'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-sha256',
    '-extfile',
    p('san.ext'),
    '-out',
    p('server.crt'),
  ]);
  return { caPem: await readFile(p('ca.crt'), 'utf8'), certPath: p('server.crt'), keyPath: p('server.key') };
}

export interface TestS3Server {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

export async function startS3Server(opts: {
  dir: string;
  tls?: { certPath: string; keyPath: string };
  /** Checks the server answers; for TLS it must trust the CA. */
  probe: (endpoint: string) => Promise<boolean>;
}): Promise<TestS3Server> {
  const port = await freePort();
  const secretAccessKey = randomBytes(18).toString('base64url');
  const accessKeyId = 'lifeboat-tls-test';
  const region = 'us-east-1';
  for (const sub of ['buckets', 'object-versions', 'object-meta', 'logs'])
    await mkdir(join(opts.dir, sub), { recursive: true });
  const proc = startProcess({
    name: 'versitygw',
    bin: groundBinaries().versitygw,
    logDir: join(opts.dir, 'logs'),
    // The secret goes by environment, not argv, so it is not in process listings.
    env: { ROOT_ACCESS_KEY_ID: accessKeyId, ROOT_SECRET_ACCESS_KEY: secretAccessKey },
    args: [
      `--port=127.0.0.1:${port}`,
      `--region=${region}`,
      ...(opts.tls ? [`--cert=${opts.tls.certPath}`, `--key=${opts.tls.keyPath}`] : []),
      '--quiet',
      'posix',
      `--versioning-dir=${join(opts.dir, 'object-versions')}`,
      `--sidecar=${join(opts.dir, 'object-meta')}`,
      join(opts.dir, 'buckets'),
    ],
  });
  const endpoint = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  try {
    await waitFor(proc, () => opts.probe(endpoint));
  } catch (err) {
    await stopProcess(proc);
    throw err;
  }
  return { endpoint, region, accessKeyId, secretAccessKey, stop: () => stopProcess(proc) };
}
