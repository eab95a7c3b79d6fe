// npm run bench:quant — quantization variants timed in child processes (see src/bench/quantBench.ts).
const { main } = await import('../dist/bench/quantBench.js');
await main();
