// The three requests leader election makes on its coordination.k8s.io Lease,
// each cancellable: the elector bounds every renewal by the renew deadline
// with an AbortSignal, so a stalled API server cannot hold an attempt past it.
// Tests give the elector a fake of this interface.
import { CORE, isNotFound, type KubeClient, type KubeObject } from "../kube/client.ts";

export interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaseApi {
  /** The Lease, or null when there is none. */
  get(signal: AbortSignal): Promise<Lease | null>;
  /** Creates it; rejects with a 409 AlreadyExists KubeApiError when another replica was first. */
  create(lease: Lease, signal: AbortSignal): Promise<void>;
  /** Replaces it; rejects with a 409 Conflict KubeApiError when it changed since it was read. */
  replace(lease: Lease, signal: AbortSignal): Promise<void>;
}

/** The Lease `namespace/name` on the API server. */
export function kubeLeaseApi(kube: KubeClient, namespace: string, name: string): LeaseApi {
  const one = kube.path(CORE.leases, namespace, name);
  const request = (method: string, path: string, body: unknown, signal: AbortSignal) =>
    kube.raw(method, path, body, undefined, undefined, undefined, signal);
  return {
    async get(signal) {
      try {
        return (await request("GET", one, undefined, signal)) as Lease;
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },
    async create(lease, signal) {
      await request("POST", kube.path(CORE.leases, namespace), lease, signal);
    },
    async replace(lease, signal) {
      await request("PUT", one, lease, signal);
    },
  };
}
