// `llmbench generate` through the real CLI entry (in-process): JSON output fields, same seed same text,
// and bad input -> exit 2 with a clear message.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TextTokenizer } from '../../src/engine/tokenizer.js';
import { runCli } from '../helpers/inProcessCli.js';
import { makeTinyModel } from './helpers.js';

let fixture: Awaited<ReturnType<typeof makeTinyModel>>;

beforeAll(async () => {
  fixture = await makeTinyModel();
});
afterAll(() => fixture.cleanup());

/** `llmbench ...args` in process, with the output under the names these tests use. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runCli(args);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

describe('llmbench generate', () => {
  it('--json prints one object with text and timing', async () => {
    const r = await cli('generate', '--model', fixture.dir, '--prompt', 'hello', '--max-tokens', '16', '--json', '--threads', '1');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(Object.keys(j)).toEqual(expect.arrayContaining(['text', 'promptTokens', 'outputTokens', 'prefillMs', 'decodeMsPerToken', 'tokensPerSecond']));
    expect(j.promptTokens).toBe(TextTokenizer.load(fixture.dir).encode('hello').length);
    expect(j.outputTokens).toBeGreaterThan(0);
    expect(j.outputTokens).toBeLessThanOrEqual(16);
    expect(typeof j.text).toBe('string');
    expect(j.prefillMs as number).toBeGreaterThan(0);
  });

  it('text mode streams the text, then a timing line; same seed gives the same text', async () => {
    const args = ['generate', '--model', fixture.dir, '--prompt', 'The cat', '--max-tokens', '12', '--temperature', '0.9', '--top-p', '0.9', '--seed', '5', '--threads', '1'];
    const a = await cli(...args);
    const b = await cli(...args);
    expect(a.code).toBe(0);
    const promptTokens = TextTokenizer.load(fixture.dir).encode('The cat').length;
    expect(a.out).toMatch(new RegExp(`\\n---\\nprompt tokens ${promptTokens}, output tokens \\d+ \\((stop|length)\\), prefill [\\d.]+ ms, decode [\\d.]+ ms/token, [\\d.]+ tokens/s`));
    const text = (s: string): string => s.slice(0, s.lastIndexOf('\n---\n'));
    expect(text(b.out)).toBe(text(a.out));
    const greedy1 = await cli('generate', '--model', fixture.dir, '--prompt', 'The cat', '--max-tokens', '12', '--json');
    const greedy2 = await cli('generate', '--model', fixture.dir, '--prompt', 'The cat', '--max-tokens', '12', '--json');
    expect((JSON.parse(greedy1.out) as { text: string }).text).toBe((JSON.parse(greedy2.out) as { text: string }).text);
  });

  const bad: Array<[string[], RegExp]> = [
    [['--max-tokens', '0'], /--max-tokens: expected an integer >= 1, got "0"/],
    [['--max-tokens', 'ten'], /--max-tokens: expected an integer >= 1, got "ten"/],
    [['--temperature', '-1'], /--temperature: expected a number >= 0, got "-1"/],
    [['--top-p', '0'], /--top-p: expected a number in \(0, 1\], got "0"/],
    [['--top-p', '1.5'], /--top-p: expected a number in 0\.\.1, got "1\.5"/],
    [['--threads', '0'], /--threads: expected an integer in 1\.\.1024, got "0"/],
    [['--seed', '-3'], /--seed: expected an integer >= 0, got "-3"/],
    [['--device', 'tpu'], /--device: unknown device "tpu"/],
    [['--prompt', ''], /--prompt: the prompt is empty/],
  ];
  for (const [extra, message] of bad) {
    it(`bad input ${extra.join(' ')} -> exit 2`, async () => {
      const r = await cli('generate', '--model', fixture.dir, '--prompt', 'hi', ...extra);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    });
  }

  it('unknown model -> exit 2 naming presets', async () => {
    const r = await cli('generate', '--model', `${fixture.root}/nope`, '--prompt', 'hi');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/neither an existing folder nor a preset/);
  });

  it('missing --prompt -> exit 2', async () => {
    const r = await cli('generate', '--model', fixture.dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/required option '--prompt <text>' not specified/);
  });
});
