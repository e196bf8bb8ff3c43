// `npm run cluster`: start the test ground for a person and keep it up until Ctrl-C.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startGround } from '../test/ground/ground.js';

const ground = await startGround({ node: true, forge: true, log: (l) => console.log(`  ${l}`) });
const { info } = ground;
if (info.forge) {
  // Credentials go to a file only the user can read, not to the terminal.
  const { admin, users } = info.forge;
  await writeFile(join(info.workDir, 'forge-users.json'), `${JSON.stringify([admin, ...users], null, 2)}\n`, {
    mode: 0o600,
  });
}
const node = info.node;
console.log(`
lifeboat test ground is up.

  kubeconfig:  ${info.kubeconfigPath}
               export KUBECONFIG=${info.kubeconfigPath}   # then: kubectl get ns
  S3 endpoint: ${info.s3.endpoint}   region ${info.s3.region}
  S3 access:   AWS_ACCESS_KEY_ID=${info.s3.accessKeyId} AWS_SECRET_ACCESS_KEY=${info.s3.secretAccessKey}`);
if (node) {
  console.log(`
  node:        ${node.name} at ${node.ip}, pods in ${node.podSubnet} on bridge ${node.bridge}
               kubectl run -it --rm demo --image=${node.images.busybox} --image-pull-policy=Never -- sh
  images:      ${Object.values(node.images).join(', ')} (imagePullPolicy: Never)
  containerd:  ctr --address ${node.containerdSocket} -n k8s.io containers ls
  kubelet dir: ${node.kubeletRootDir}`);
}
if (info.csi) {
  console.log(`
  storage:     StorageClass ${info.csi.storageClass}, VolumeSnapshotClass ${info.csi.snapshotClass} (CSI driver ${info.csi.driver})
               volumes and snapshots are directories under ${info.csi.stateDir}`);
}
if (info.forge) {
  const f = info.forge;
  const users = f.users.map((u) => u.username).join(' and ');
  console.log(`
  forge:       Gitea at ${f.url} (admin ${f.admin.username}, users ${users}; passwords and tokens in ${info.workDir}/forge-users.json)
  policy repo: ${f.policyRepo.cloneUrl}
               lifeboat run --repo ${f.policyRepo.cloneUrl} --forge gitea --forge-url ${f.url}   # LIFEBOAT_GIT_TOKEN and LIFEBOAT_FORGE_TOKEN: the admin's token`);
}
console.log(`
Press Ctrl-C to stop (data is removed).`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping…');
  ground.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error((err as Error).message);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
