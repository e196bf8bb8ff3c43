// `npm run cluster`: start the test ground for a person and keep it up until Ctrl-C.
import { startGround } from '../test/ground/ground.js';

const ground = await startGround({ node: true, log: (l) => console.log(`  ${l}`) });
const { info } = ground;
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
