// What the global setup hands to every integration test worker (vitest `provide`/`inject`).

export interface S3Endpoint {
  endpoint: string; // http://127.0.0.1:PORT
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** The ground's node (present when the ground was started with `node: true`). */
export interface NodeInfo {
  /** The Node object's name. */
  name: string;
  /** The machine's own address the kubelet serves on (--node-ip). */
  ip: string;
  /** The kubelet's --root-dir: pods/, plugins/, plugins_registry/ (CSI drivers register there). */
  kubeletRootDir: string;
  /** containerd's CRI socket (a path; `ctr --address <it> -n k8s.io …`). */
  containerdSocket: string;
  /** The pods' /24 and the bridge they hang off, unique to this ground. */
  podSubnet: string;
  bridge: string;
  /** The cgroup (in every hierarchy) that holds containerd, its shims and all pods. */
  cgroupRoot: string;
  /** Images imported into containerd; pods use them with imagePullPolicy: Never. */
  images: { pause: string; busybox: string; lifeboat: string };
}

/** The CSI storage on the node (present when the ground has a node, unless `csi: false`). */
export interface CsiInfo {
  /** The CSI driver's name (test/ground/csi-driver), the CSIDriver object's name. */
  driver: string;
  /** The StorageClass provisioning through it (not the default class). */
  storageClass: string;
  /** The VolumeSnapshotClass for it (the default class, labelled for Velero). */
  snapshotClass: string;
  /** Where the driver keeps volumes/<volumeHandle>/data and snapshots/<snapshotHandle>/data. */
  stateDir: string;
}

/** A user of the ground's forge, with an API token of scope all. */
export interface ForgeUser {
  username: string;
  password: string;
  email: string;
  token: string;
}

/** The ground's forge (Gitea), when started with `forge: true` (test/ground/forge.ts). */
export interface ForgeInfo {
  /** http://127.0.0.1:PORT */
  url: string;
  admin: ForgeUser;
  /** Two ordinary users with write access to the policy repository. */
  users: ForgeUser[];
  /** An empty repository owned by the admin, for `npm run cluster` and the demo. */
  policyRepo: { owner: string; name: string; cloneUrl: string };
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
  /** The node, when started (global-setup starts it). */
  node?: NodeInfo;
  /** CSI storage on the node, when started. */
  csi?: CsiInfo;
  /** The forge, when started (`forge: true`; the suite's global setup does not start it). */
  forge?: ForgeInfo;
}
