// `llmbench generate`: wiring only (logic in src/commands/generate.ts).
import type { Command } from 'commander';
import { formatGenerateSummary, runGenerateCommand } from '../commands/generate.js';
import { parseDevice } from '../engine/providers.js';
import { UsageError } from '../errors.js';
import { parseIntOption, parseNumberOption } from './options.js';

interface GenerateFlags {
  model: string;
  prompt: string;
  maxTokens: string;
  device: string;
  threads?: string;
  temperature: string;
  topP: string;
  seed?: string;
  json?: boolean;
  variant?: string;
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('Generate text for one prompt and print prefill/decode timing')
    .requiredOption('--model <dir|preset>', 'model folder (Hugging Face ONNX layout) or preset name (tiny, small, gpt2)')
    .requiredOption('--prompt <text>', 'prompt text')
    .option('--max-tokens <n>', 'most tokens to generate', '64')
    .option('--device <name>', 'execution provider: cpu, cuda, webgpu', 'cpu')
    .option('--threads <n>', 'intra-op threads (default: all CPUs)')
    .option('--temperature <t>', 'sampling temperature; 0 = greedy', '0')
    .option('--top-p <p>', 'nucleus sampling mass in (0, 1]', '1')
    .option('--seed <n>', 'sampling seed (same seed, same text)')
    .option('--variant <name>', 'which onnx/model_<name>.onnx of a transformers.js folder to load (fp16, q4, q4f16, quantized, int8, uint8, bnb4...; fp32 = onnx/model.onnx)')
    .option('--json', 'print one JSON object: text, promptTokens, outputTokens, prefillMs, decodeMsPerToken, tokensPerSecond')
    .action(async (flags: GenerateFlags) => {
      const topP = parseNumberOption('--top-p', flags.topP, 0, 1);
      if (topP === 0) throw new UsageError('--top-p: expected a number in (0, 1], got "0"');
      const json = flags.json === true;
      const result = await runGenerateCommand({
        model: flags.model,
        prompt: flags.prompt,
        maxTokens: parseIntOption('--max-tokens', flags.maxTokens, 1),
        device: parseDevice(flags.device),
        threads: flags.threads === undefined ? null : parseIntOption('--threads', flags.threads, 1, 1024),
        temperature: parseNumberOption('--temperature', flags.temperature, 0),
        topP,
        seed: flags.seed === undefined ? null : parseIntOption('--seed', flags.seed, 0),
        variant: flags.variant ?? null,
        onText: json ? undefined : (t) => process.stdout.write(t),
      });
      if (json) {
        const { text, promptTokens, outputTokens, prefillMs, decodeMsPerToken, tokensPerSecond, finishReason } = result;
        process.stdout.write(`${JSON.stringify({ text, promptTokens, outputTokens, prefillMs, decodeMsPerToken, tokensPerSecond, finishReason })}\n`);
      } else {
        process.stdout.write(`\n---\n${formatGenerateSummary(result)}\n`);
      }
    });
}
