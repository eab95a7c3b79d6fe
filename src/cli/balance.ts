// `llmbench balance`: wiring only; the proxy lives in src/balancer.
import { Option, type Command } from 'commander';
import { runBalance } from '../commands/balance.js';
import { BALANCER_DEFAULTS, resolveBalancerOptions } from '../balancer/options.js';
import { parseUpstreamArg } from '../balancer/upstreamSpec.js';
import { BALANCER_POLICIES, type BalancerPolicy } from '../types.js';
import { UsageError } from '../errors.js';
import { parseIntOption } from './options.js';
import { stopSignal } from './stopSignal.js';

interface BalanceFlags {
  policy: string;
  upstream: string[];
  backup: string[];
  tries: string;
  upstreamTimeoutMs: string;
  cooldownMs: string;
  seed: string;
  host: string;
  port: string;
  exitWithParent?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerBalance(program: Command): void {
  program
    .command('balance')
    .description('Run the built-in load balancer in front of local inference servers')
    .option('--policy <name>', `balancing policy: ${BALANCER_POLICIES.join(' | ')}`, BALANCER_DEFAULTS.policy)
    .option('--upstream <NAME=URL>', 'an upstream server, e.g. replica-0=http://127.0.0.1:8001 (repeat for each)', collect, [])
    .option('--backup <NAME=URL>', 'a backup upstream, used only when no primary can take the request (repeat for each)', collect, [])
    .option('--tries <n>', 'attempts per request in total, each on a different upstream', String(BALANCER_DEFAULTS.tries))
    .option('--upstream-timeout-ms <n>', 'time allowed for an upstream to send response headers', String(BALANCER_DEFAULTS.upstreamTimeoutMs))
    .option('--cooldown-ms <n>', 'how long a failed upstream is skipped', String(BALANCER_DEFAULTS.cooldownMs))
    .option('--seed <n>', 'seed of the power-of-two-choices sampler', String(BALANCER_DEFAULTS.seed))
    .option('--host <addr>', 'loopback address to listen on', BALANCER_DEFAULTS.host)
    .option('--port <n>', 'port to listen on (0 = a free port)', String(BALANCER_DEFAULTS.port))
    .addOption(new Option('--exit-with-parent', 'stop when stdin closes (used by spawnBuiltinBalancer)').hideHelp())
    .action(async (flags: BalanceFlags) => {
      if (!(BALANCER_POLICIES as readonly string[]).includes(flags.policy)) {
        throw new UsageError(`--policy: unknown policy "${flags.policy}"`, `Choose one of: ${BALANCER_POLICIES.join(', ')}.`);
      }
      const options = {
        policy: flags.policy as BalancerPolicy,
        upstreams: [...flags.upstream.map(parseUpstreamArg), ...flags.backup.map((b) => ({ ...parseUpstreamArg(b), backup: true }))],
        tries: parseIntOption('--tries', flags.tries, 1, 16),
        upstreamTimeoutMs: parseIntOption('--upstream-timeout-ms', flags.upstreamTimeoutMs, 1, 3_600_000),
        cooldownMs: parseIntOption('--cooldown-ms', flags.cooldownMs, 0, 3_600_000),
        seed: parseIntOption('--seed', flags.seed, 0, 2 ** 32 - 1),
        host: flags.host,
        port: parseIntOption('--port', flags.port, 0, 65535),
      };
      resolveBalancerOptions(options); // every mistake is reported before anything starts listening
      const { stopRequested, release } = stopSignal(flags.exitWithParent === true);
      try {
        await runBalance(options, { write: (text) => process.stdout.write(text), stopRequested });
      } finally {
        release();
      }
    });
}
