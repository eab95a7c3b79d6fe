// `llmbench doctor`: wiring only (logic in src/commands/doctor.ts).
import type { Command } from 'commander';
import { collectDoctorReport, formatDoctorReport } from '../commands/doctor.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('What this machine can run: CPU features and the int8 probe, onnxruntime providers (trial sessions), GPUs, nginx, cache; what CUDA needs')
    .option('--json', 'print the report as JSON', false)
    .action(async (opts: { json: boolean }) => {
      const report = await collectDoctorReport();
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report));
    });
}
