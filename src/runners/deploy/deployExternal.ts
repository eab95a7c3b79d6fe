// An external OpenAI-compatible server (vLLM, TGI, llama.cpp server, Ollama) as a Deployment: llmbench
// starts and stops nothing, it checks that the target answers and which model it serves.
import http from 'node:http';
import https from 'node:https';
import { LlmbenchError } from '../../errors.js';
import type { ExternalPipelineSpec } from '../../scenarios/types.js';
import type { Deployment } from '../../types.js';
import type { Deployer } from './deployers.js';

/** The deployment plus what requests to it need. */
export interface ExternalTarget {
  deployment: Deployment;
  /** Model name sent in request bodies (from the scenario or the server's first model). */
  model: string | null;
  apiKey: string | null;
}

function getJson(url: string, apiKey: string | null, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(url, { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {}, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c.length + text.length < 1_000_000 ? c : ''));
      res.on('end', () => {
        let body: unknown = null;
        try {
          body = JSON.parse(text);
        } catch {
          body = text.slice(0, 300);
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Checks GET /v1/models on the target and returns it as a Deployment. */
export async function deployExternal(spec: ExternalPipelineSpec, timeoutMs = 10_000): Promise<ExternalTarget> {
  let apiKey: string | null = null;
  if (spec.target.apiKeyEnv) {
    apiKey = process.env[spec.target.apiKeyEnv] ?? null;
    if (!apiKey) {
      throw new LlmbenchError(
        'RUN',
        `pipeline "${spec.name}": environment variable ${spec.target.apiKeyEnv} (target.apiKeyEnv) is not set`,
        `export ${spec.target.apiKeyEnv}=<key> before running`,
      );
    }
  }
  const modelsUrl = `${spec.target.url}/v1/models`;
  let res: { status: number; body: unknown };
  try {
    res = await getJson(modelsUrl, apiKey, timeoutMs);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new LlmbenchError(
      'RUN',
      `pipeline "${spec.name}": cannot reach ${modelsUrl}: ${err.code ?? err.message}`,
      'Start the server first, or fix target.url (it should be the server base URL, e.g. http://127.0.0.1:8000).',
    );
  }
  if (res.status === 401 || res.status === 403) {
    throw new LlmbenchError('RUN', `pipeline "${spec.name}": ${modelsUrl} answered HTTP ${res.status}`, 'Set target.apiKeyEnv to the variable holding the API key.');
  }
  if (res.status !== 200) {
    throw new LlmbenchError('RUN', `pipeline "${spec.name}": ${modelsUrl} answered HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 200)}`, 'Is this an OpenAI-compatible server?');
  }
  const data = (res.body as { data?: Array<{ id?: unknown }> } | null)?.data;
  const ids = Array.isArray(data) ? data.map((m) => m.id).filter((id): id is string => typeof id === 'string') : [];
  if (spec.target.model && ids.length > 0 && !ids.includes(spec.target.model)) {
    throw new LlmbenchError('RUN', `pipeline "${spec.name}": the server does not serve model "${spec.target.model}" (it serves: ${ids.join(', ')})`);
  }
  const model = spec.target.model ?? ids[0] ?? null;
  return {
    model,
    apiKey,
    deployment: {
      url: spec.target.url,
      kind: 'external',
      processes: () => [],
      replicas: [{ name: 'external', url: spec.target.url }],
      stop: async () => undefined,
    },
  };
}

export const externalDeployer: Deployer<ExternalPipelineSpec> = {
  async deploy(spec) {
    const target = await deployExternal(spec);
    return { ...target, extraBody: spec.target.extraBody, monitor: null };
  },
};
