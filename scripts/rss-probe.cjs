// Preloaded into a timed llmbench command by bench-scale.mjs: reports the process's peak RSS when it exits.
process.on('exit', () => {
  process.stderr.write(`\nLLMBENCH_MAX_RSS_KB=${process.resourceUsage().maxRSS}\n`);
});
