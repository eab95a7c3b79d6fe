// CLI wiring for `llmbench scenarios list|schema`.
import type { Command } from 'commander';
import { listBuiltinScenarios } from '../scenarios/builtin.js';
import { scenarioJsonSchema } from '../scenarios/jsonSchema.js';

/** Registers `scenarios list` and `scenarios schema`. */
export function registerScenarios(program: Command): void {
  const scenarios = program.command('scenarios').description('Shipped scenarios and the scenario file format');
  scenarios
    .command('list')
    .description('List the scenarios shipped with llmbench (run one with `llmbench run <name>`)')
    .action(() => {
      const list = listBuiltinScenarios();
      const width = Math.max(4, ...list.map((s) => s.name.length));
      const lines = list.map((s) => `${s.name.padEnd(width)}  ${s.description}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
  scenarios
    .command('schema')
    .description('Print the JSON Schema of scenario files (for editor completion and validation)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
    });
}
