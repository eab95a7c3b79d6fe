// npm run bench:quant — quantization variants timed in child processes (see src/model/quantBench.ts).
const { main } = await import('../dist/model/quantBench.js');
await main();
