/**
 * Where the Kubernetes source gets its API server address and credentials: an explicit kubeconfig
 * file, else the pod's service account (in-cluster), else the user's default kubeconfig
 * (`KUBECONFIG` or ~/.kube/config). Called once by the composition root.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { GatewayError } from '../../errors/gateway-error.js';

export function loadKubeConfig(path?: string, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else if (env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (err) {
    throw new GatewayError('GW_ERR_BOOTSTRAP', {
      message: `cannot load the Kubernetes configuration${path ? ` from ${path}` : ''}: ${(err as Error).message}`,
      cause: err,
    });
  }
  if (!kc.getCurrentCluster()) {
    throw new GatewayError('GW_ERR_BOOTSTRAP', {
      message: `no Kubernetes cluster configured${path ? ` in ${path}` : ' (no kubeconfig, not in a pod)'}`,
    });
  }
  return kc;
}
