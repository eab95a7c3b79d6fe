// The English-like corpus llmbench ships (data/corpus/) and fits its generated models to. Text is
// produced deterministically from a seed: paragraphs on one topic, chat-like User/Assistant exchanges
// and short numbered lists, so that token bigrams are varied but predictable. Train and held-out text
// come from different seeds of the same generator: same distribution, different sentences.

import { Rng } from '../stats/rng.js';
import { capitalize, expand, parseTopic, type Topic } from './corpusGrammar.js';
import { SHARED_QA, SHARED_TEMPLATES } from './corpusShared.js';
import { TOPICS_A } from './corpusTopicsA.js';
import { TOPICS_B } from './corpusTopicsB.js';

/** Seed and size of data/corpus/train.txt. */
export const TRAIN_CORPUS = { seed: 1, targetChars: 1_200_000, file: 'train.txt' } as const;
/** Seed and size of data/corpus/heldout.txt (never used for fitting). */
export const HELDOUT_CORPUS = { seed: 2, targetChars: 80_000, file: 'heldout.txt' } as const;

const TOPICS: Topic[] = [...TOPICS_A, ...TOPICS_B].map(parseTopic);

const TITLES = ['Notes on {Ns}', 'A few words about the {N}', '{Ns} in {Month}', 'Why the {N} matters', 'The {A} {N}'];
const STEP_TEMPLATES = [
  '{V} the {N} {Adv}.',
  '{V} {Small} {Ns} {Pl}.',
  'Check that the {N} is {A}.',
  'Wait {Num} {U}, then {V} the {Ns}.',
  'Do not {V} the {N} {When}.',
];

function sentence(topic: Topic, rng: Rng): string {
  const template = rng.nextFloat() < 0.55 ? rng.pick(SHARED_TEMPLATES) : rng.pick(topic.templates);
  return capitalize(expand(template, topic, rng));
}

function paragraph(topic: Topic, rng: Rng): string {
  const count = 3 + rng.nextInt(5);
  const sentences: string[] = [];
  for (let i = 0; i < count; i++) sentences.push(sentence(topic, rng));
  const body = sentences.join(' ');
  return rng.nextFloat() < 0.1 ? `${capitalize(expand(rng.pick(TITLES), topic, rng))}\n${body}` : body;
}

function chat(topic: Topic, rng: Rng): string {
  const turns = 1 + rng.nextInt(3);
  const lines: string[] = [];
  for (let i = 0; i < turns; i++) {
    const [question, answer] = rng.nextFloat() < 0.5 ? rng.pick(topic.qa) : rng.pick(SHARED_QA);
    lines.push(`User: ${capitalize(expand(question, topic, rng))}`);
    const extra = rng.nextFloat() < 0.4 ? ` ${sentence(topic, rng)}` : '';
    lines.push(`Assistant: ${capitalize(expand(answer, topic, rng))}${extra}`);
  }
  return lines.join('\n');
}

function steps(topic: Topic, rng: Rng): string {
  const count = 3 + rng.nextInt(4);
  const lines = [`${capitalize(expand(rng.pick(TITLES), topic, rng))}:`];
  for (let i = 1; i <= count; i++) lines.push(`${i}. ${capitalize(expand(rng.pick(STEP_TEMPLATES), topic, rng))}`);
  return lines.join('\n');
}

/**
 * Generates about `targetChars` characters of corpus text (whole documents, separated by blank lines,
 * ending in a newline). Pure function of its arguments.
 */
export function generateCorpus(seed: number, targetChars: number): string {
  const rng = new Rng(seed);
  const docs: string[] = [];
  let chars = 0;
  let topic = rng.pick(TOPICS);
  while (chars < targetChars) {
    // Consecutive documents often stay on a topic, as real text does.
    if (rng.nextFloat() < 0.5) topic = rng.pick(TOPICS);
    const kind = rng.nextFloat();
    const doc = kind < 0.7 ? paragraph(topic, rng) : kind < 0.9 ? chat(topic, rng) : steps(topic, rng);
    docs.push(doc);
    chars += doc.length + 2;
  }
  return docs.join('\n\n') + '\n';
}

/** Names of the corpus topics (for documentation and tests). */
export function corpusTopicNames(): string[] {
  return TOPICS.map((t) => t.name);
}
