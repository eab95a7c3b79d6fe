// Deployment kinds, keyed by a pipeline's `kind`. Adding one is a file exporting a Deployer plus one line in
// DEPLOYERS; the run sequence (pipelineRun.ts) only ever calls `deploy`.
import type { PipelineSpec } from '../../scenarios/types.js';
import type { Deployment } from '../../types.js';
import { externalDeployer } from './deployExternal.js';
import { localDeployer } from './deployLocal.js';
import type { ResourceMonitor } from '../load/monitor.js';

/** What every deployment kind gets from the run. */
export interface DeployContext {
  /** Bound on waiting for each process's ready line (model loading included). */
  readyTimeoutMs: number;
  /** How often the resource monitor samples the deployment's processes. */
  monitorIntervalMs: number;
  onProgress(msg: string): void;
  /** Fault-injection and restart events, as they happen. */
  onEvent(kind: string, detail: string): void;
}

/** A deployment that answers, plus what requests to it need. */
export interface Deployed {
  deployment: Deployment;
  /** Model name sent in request bodies (null: the server's default). */
  model: string | null;
  apiKey: string | null;
  /** Fields merged into every request body (an external target's `extraBody`). */
  extraBody: Record<string, unknown> | null;
  /** Samples the memory of the processes llmbench started; null where it started none. */
  monitor: ResourceMonitor | null;
}

export interface Deployer<S extends PipelineSpec = PipelineSpec> {
  deploy(spec: S, ctx: DeployContext): Promise<Deployed>;
}

type Registry = { [K in PipelineSpec['kind']]: Deployer<Extract<PipelineSpec, { kind: K }>> };

export const DEPLOYERS: Registry = {
  local: localDeployer,
  external: externalDeployer,
};

/** Deploys a pipeline with the deployer registered for its kind. */
export function deploy(spec: PipelineSpec, ctx: DeployContext): Promise<Deployed> {
  return (DEPLOYERS[spec.kind] as Deployer).deploy(spec, ctx);
}
