// CLI wiring for `llmbench probe URL`. The logic is in runners/probe.ts.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { probeTarget, renderProbe } from '../commands/probe.js';

/** Registers `llmbench probe <url>`. */
export function registerProbe(program: Command): void {
  program
    .command('probe')
    .argument('<url>', 'base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000')
    .description('Ask a server what a benchmark needs to know: models, usage in streams, a tokenize endpoint, ignore_eos (a few small requests)')
    .option('--model <name>', 'model to probe with (default: the server\'s first)')
    .option('--api <api>', 'completions or chat', 'completions')
    .option('--api-key-env <var>', 'environment variable holding the API key')
    .option('--allow-remote', 'allow a server that is not on this machine')
    .option('--json', 'print the findings as JSON')
    .action(async (url: string, f: { model?: string; api: string; apiKeyEnv?: string; allowRemote?: boolean; json?: boolean }) => {
      if (f.api !== 'completions' && f.api !== 'chat') throw new UsageError(`--api: expected completions or chat, got "${f.api}"`);
      let apiKey: string | null = null;
      if (f.apiKeyEnv !== undefined) {
        apiKey = process.env[f.apiKeyEnv] ?? null;
        if (!apiKey) throw new UsageError(`--api-key-env: environment variable ${f.apiKeyEnv} is not set`);
      }
      const r = await probeTarget({ url, model: f.model ?? null, api: f.api, allowRemote: f.allowRemote === true, apiKey });
      process.stdout.write(f.json ? `${JSON.stringify(r, null, 2)}\n` : renderProbe(r));
    });
}
