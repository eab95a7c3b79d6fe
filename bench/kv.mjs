// npm run bench:kv — the benchmark runs when its compiled module loads.
await import('../dist/bench/kvBench.js');
