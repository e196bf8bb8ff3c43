// What the global setup hands to every integration test worker (vitest `provide`/`inject`).

export interface S3Endpoint {
  endpoint: string; // http://127.0.0.1:PORT
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface GroundInfo {
  /** kubeconfig with cluster-admin credentials for the test apiserver. */
  kubeconfigPath: string;
  apiserverUrl: string;
  /** etcd client URL, for tests that need to compact history directly. */
  etcdUrl: string;
  s3: S3Endpoint;
  /** A directory the tests may create files in (temporary, removed at teardown). */
  workDir: string;
}
