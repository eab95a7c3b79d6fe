// Metric definitions printed in every report, so a reader never has to guess what a number means.
import { bootstrapSubsetSize, DEFAULT_BOOTSTRAP, MIN_SUBSET, RESAMPLE_BUDGET } from '../stats/compare.js';

/** [term, definition] pairs, in the order the report lists them. */
export const METRIC_DEFINITIONS: ReadonlyArray<readonly [string, string]> = [
  ['E2E latency', 'Time from when a request was scheduled to be sent until the response was complete: the last token event, or the chunk with the finish reason when that came later (the usage-only chunk and [DONE] after it are not generation time); without streaming, until the whole response arrived.'],
  ['TTFT', 'Time from the scheduled send until the first token event: a chunk with answer text, reasoning text or a tool-call delta, or the stop token itself when it is the first token. Chunks holding only a role or only usage do not count. Time to first answer token (the first answer text, after any reasoning or tool calls) is reported beside it when it differs. vLLM\'s benchmark takes the first chunk that has a choices entry as the first token even without text (the role-only first chunk of a chat stream); llmbench waits for a counted token.'],
  ['Token events', 'Chunks that carry a counted token. llama.cpp and vLLM stream the stop token as a last chunk with empty text and a finish reason, and count it in usage: that chunk is a token event when usage has more tokens than the chunks with text (without usage: when its finish reason is "stop"). Otherwise the finish chunk only marks the end of the response.'],
  ['TPOT', 'Per request: (E2E - TTFT) / (output tokens - 1), or 0 when the output is one token: the mean decode interval, whether the request stopped at max_tokens, on a stop token or on a stop string. The table shows its distribution over requests.'],
  ['ITL', 'Every gap between consecutive streamed chunks, pooled over all requests. It is measured per chunk, not per token: a chunk may carry several tokens.'],
  ['Throughput', 'Completed requests per second and output tokens per second over the measured window, which runs from the first send to the last completion; warm-up requests are left out.'],
  ['Goodput', 'Completed requests per second that met every latency objective of the scenario (TTFT, TPOT, E2E), each request judged on its own.'],
  ['Output tokens', "The server's usage.completion_tokens when it reports it (reasoning and tool-call tokens included); otherwise a count with the model's own tokenizer, plus one for a stop token seen in the stream, and the report says the counts are estimated. Disagreements between the two are counted and reported; a stop token the tokenizer cannot see is not a disagreement."],
  ['Prompt tokens', "The server's usage.prompt_tokens when it reports it (a chat template's tokens included), shown beside the workload's own count; prompts are sized in the target's tokenizer when one is given, otherwise estimated at 0.75 words per token and the report says so."],
  ['Memory', 'Resident set size (RSS) summed over every server process of the pipeline, found through the process tree: the peak, and the median during the measured window ("steady"). On GPUs, per-process device memory from nvidia-smi, peak and steady. The model file size is shown next to them.'],
  ['Coordinated omission', 'Latency always starts at the scheduled send time, so a load generator that falls behind shows up as latency rather than as missing requests. Intended vs achieved request rate and schedule lag are reported, and a run where the client, not the server, was the bottleneck is marked INVALID.'],
  ['Percentiles', 'Linear interpolation between order statistics; a percentile is only shown with enough samples for two observations above it (p50 needs 4, p90 20, p95 40, p99 200), otherwise "too few samples".'],
];

/** How the comparison numbers were computed, for the report's method section. */
export function methodNotes(resamples: number, seed: number, confidence: number, paired = false): string[] {
  const pct = Math.round(confidence * 100);
  const pairing = paired
    ? ['Pipelines that measured exactly the same workload requests are resampled in pairs: each round draws the same requests (by workload index) for the baseline and the variant, so the interval reflects the change rather than which prompts were drawn.']
    : [];
  return [
    ...pairing,
    `Change = (variant - baseline) / baseline, from the values in the tables. Arrows give the direction; "better"/"worse" follow each metric's good side (lower latency and memory, higher throughput).`,
    `${pct}% confidence intervals are percentile-bootstrap intervals of the change: ${resamples} rounds, each resampling the baseline's and the variant's measured requests independently with replacement and recomputing the statistic (seed ${seed}, so re-rendering gives the same intervals). When repeats were pooled, each repeat is resampled within itself, keeping its request count.`,
    'Throughput has one value per window, so it is resampled with a ratio estimator: by Little\'s law, throughput = (work / summed request time) x (requests in flight). The in-flight level is held fixed and the reported value is scaled by the resample\'s ratio of ok requests (or output tokens) to summed E2E. This assumes the load kept the same number of requests in flight (closed loop or saturated open loop).',
    'A change is significant when its interval excludes 0. The Mann-Whitney U test (two-sided, normal approximation with tie and continuity correction) checks whether one latency distribution sits above the other as a whole; "slower in x% of request pairs" is U / (n1 n2).',
    'Memory, goodput and quality have no interval: memory is one measurement per process, goodput is an SLO count, quality comes from a deterministic evaluation.',
    `A pipeline with more than m measured requests (or a baseline that kept a subset of them) is bootstrapped m-out-of-n: the rounds resample a seeded subset of m requests (here m = ${bootstrapSubsetSize(resamples, DEFAULT_BOOTSTRAP.maxRequests).toLocaleString('en-US')}: ${(RESAMPLE_BUDGET / 1e6).toFixed(0)} million request draws / ${resamples} rounds, at most ${DEFAULT_BOOTSTRAP.maxRequests.toLocaleString('en-US')}, at least ${MIN_SUBSET.toLocaleString('en-US')}) and each round's deviation is scaled by sqrt(m / n) around the full-sample value; the rank test uses a subset of up to ${DEFAULT_BOOTSTRAP.maxRequests.toLocaleString('en-US')}. ITL percentiles come from a pooled histogram (within 0.2%) and have no interval when per-request gaps were not kept.`,
  ];
}
