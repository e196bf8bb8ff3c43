// `npm run cluster`: start the test ground for a person and keep it up until Ctrl-C.
import { startGround } from '../test/ground/ground.js';

const ground = await startGround({ log: (l) => console.log(`  ${l}`) });
const { info } = ground;
console.log(`
lifeboat test ground is up.

  kubeconfig:  ${info.kubeconfigPath}
               export KUBECONFIG=${info.kubeconfigPath}   # then: kubectl get ns
  S3 endpoint: ${info.s3.endpoint}   region ${info.s3.region}
  S3 access:   AWS_ACCESS_KEY_ID=${info.s3.accessKeyId} AWS_SECRET_ACCESS_KEY=${info.s3.secretAccessKey}

Press Ctrl-C to stop (data is removed).`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping…');
  void ground.stop().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
