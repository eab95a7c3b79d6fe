// Expands sentence templates with words from a topic lexicon. The corpus only needs to be English-like
// (varied but predictable word pairs), not correct English, so the grammar is a slot-filling one:
// `{N}` noun, `{Ns}` plural, `{aN}` "a/an noun", `{A}` adjective, `{aA}` "a/an adjective", `{V}`/`{Vs}`/
// `{Vd}`/`{Vg}` transitive verb forms, `{I}`/`{Is}`/`{Id}`/`{Ig}` intransitive ones, `{P}` agent,
// `{Pl}` place phrase, `{U}` topic unit, and shared slots (`{Name}`, `{City}`, `{Day}`, `{Num}` ...).

import type { Rng } from '../stats/rng.js';
import { SHARED_WORDS } from './corpusShared.js';

/** Words and templates of one topic, as written in the lexicon files (space/comma separated lists). */
export interface TopicSource {
  name: string;
  /** Space separated; irregular plural as `leaf|leaves`. */
  nouns: string;
  adjs: string;
  /** Space separated; irregular forms as `base|past` or `base|past|ing`. */
  verbsT: string;
  verbsI: string;
  /** Comma separated noun phrases that can act as a subject ("the chef"). */
  agents: string;
  /** Comma separated prepositional phrases ("in the kitchen"). */
  places: string;
  /** Space separated measurement words ("grams minutes"). */
  units: string;
  templates: string[];
  /** [question, answer] template pairs for chat-like lines. */
  qa: [string, string][];
}

interface Verb {
  base: string;
  third: string;
  past: string;
  ing: string;
}

/** A topic with its word lists parsed and inflected. */
export interface Topic {
  name: string;
  nouns: { one: string; many: string }[];
  adjs: string[];
  verbsT: Verb[];
  verbsI: Verb[];
  agents: string[];
  places: string[];
  units: string[];
  templates: string[];
  qa: [string, string][];
}

const VOWEL_SOUND_EXCEPTIONS = new Set(['hour', 'honest', 'honor', 'heir']);
const CONSONANT_SOUND_EXCEPTIONS = new Set(['user', 'unit', 'useful', 'usual', 'uniform', 'union', 'one', 'unique', 'universal', 'european', 'ukulele', 'utility', 'url']);

/** "a" or "an" for the word that follows. */
export function article(word: string): string {
  const w = word.toLowerCase();
  if (VOWEL_SOUND_EXCEPTIONS.has(w)) return 'an';
  if (CONSONANT_SOUND_EXCEPTIONS.has(w)) return 'a';
  return /^[aeiou]/.test(w) ? 'an' : 'a';
}

function pluralOf(noun: string): string {
  if (/(s|sh|ch|x|z)$/.test(noun)) return noun + 'es';
  if (/[^aeiou]y$/.test(noun)) return noun.slice(0, -1) + 'ies';
  return noun + 's';
}

function thirdPersonOf(base: string): string {
  if (/(s|sh|ch|x|z|o)$/.test(base)) return base + 'es';
  if (/[^aeiou]y$/.test(base)) return base.slice(0, -1) + 'ies';
  return base + 's';
}

function pastOf(base: string): string {
  if (base.endsWith('e')) return base + 'd';
  if (/[^aeiou]y$/.test(base)) return base.slice(0, -1) + 'ied';
  return base + 'ed';
}

function ingOf(base: string): string {
  if (base.endsWith('ie')) return base.slice(0, -2) + 'ying';
  if (base.endsWith('e') && !base.endsWith('ee')) return base.slice(0, -1) + 'ing';
  return base + 'ing';
}

function parseVerbs(list: string): Verb[] {
  return words(list).map((spec) => {
    const [base = spec, past, ing] = spec.split('|');
    // Multi-word verbs ("set up") inflect their first word.
    const [head = base, ...rest] = base.split('_');
    const tail = rest.length > 0 ? ' ' + rest.join(' ') : '';
    return {
      base: head + tail,
      third: thirdPersonOf(head) + tail,
      past: (past ?? pastOf(head)) + tail,
      ing: (ing ?? ingOf(head)) + tail,
    };
  });
}

function words(list: string): string[] {
  return list.split(/\s+/).filter((w) => w.length > 0);
}

function phrases(list: string): string[] {
  return list
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

/** Parses and inflects a topic's word lists once. */
export function parseTopic(src: TopicSource): Topic {
  return {
    name: src.name,
    nouns: words(src.nouns).map((spec) => {
      const [one = spec, many] = spec.split('|');
      const oneText = one.replace(/_/g, ' ');
      return { one: oneText, many: many?.replace(/_/g, ' ') ?? pluralOf(oneText) };
    }),
    adjs: words(src.adjs),
    verbsT: parseVerbs(src.verbsT),
    verbsI: parseVerbs(src.verbsI),
    agents: phrases(src.agents),
    places: phrases(src.places),
    units: words(src.units),
    templates: src.templates,
    qa: src.qa,
  };
}

const NUMBER_WORDS = ['two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'];

function withThousands(n: number): string {
  return n >= 1000 ? `${Math.floor(n / 1000)},${String(n % 1000).padStart(3, '0')}` : String(n);
}

/** Numbers come in the shapes real text has them: counts, prices, times, percentages, years. */
function numberSlot(slot: string, rng: Rng): string {
  switch (slot) {
    case 'Num': {
      const n = rng.nextFloat() < 0.6 ? 1 + rng.nextInt(99) : 100 + rng.nextInt(9900);
      return rng.nextFloat() < 0.5 ? withThousands(n) : String(n);
    }
    case 'Small':
      return rng.nextFloat() < 0.7 ? rng.pick(NUMBER_WORDS) : String(2 + rng.nextInt(11));
    case 'Pct':
      return rng.nextFloat() < 0.6 ? `${1 + rng.nextInt(99)}%` : `${1 + rng.nextInt(99)} percent`;
    case 'Price': {
      const dollars = 1 + rng.nextInt(rng.nextFloat() < 0.8 ? 60 : 900);
      return rng.nextFloat() < 0.5 ? `$${dollars}` : `$${dollars}.${String(rng.nextInt(100)).padStart(2, '0')}`;
    }
    case 'Time': {
      const h = 1 + rng.nextInt(12);
      const m = rng.pick(['00', '15', '30', '45', '05', '20', '10', '50']);
      return rng.nextFloat() < 0.5 ? `${h}:${m}` : `${h}:${m} ${rng.pick(['am', 'pm'])}`;
    }
    case 'Year':
      return String(1950 + rng.nextInt(80));
    case 'Dec':
      return `${rng.nextInt(20)}.${1 + rng.nextInt(9)}`;
    case 'Temp':
      return `${rng.nextInt(40) - 8}`;
    default:
      return '';
  }
}

const NUMBER_SLOTS = new Set(['Num', 'Small', 'Pct', 'Price', 'Time', 'Year', 'Dec', 'Temp']);

/** Expands one template. Unknown slots throw: a typo in a template must not silently ship. */
export function expand(template: string, topic: Topic, rng: Rng): string {
  return template.replace(/\{(\w+)\}/g, (_whole, slot: string) => fill(slot, topic, rng));
}

function fill(slot: string, topic: Topic, rng: Rng): string {
  if (NUMBER_SLOTS.has(slot)) return numberSlot(slot, rng);
  switch (slot) {
    case 'N':
      return rng.pick(topic.nouns).one;
    case 'Ns':
      return rng.pick(topic.nouns).many;
    case 'aN': {
      const n = rng.pick(topic.nouns).one;
      return `${article(n)} ${n}`;
    }
    case 'A':
      return rng.pick(topic.adjs);
    case 'aA': {
      const a = rng.pick(topic.adjs);
      return `${article(a)} ${a}`;
    }
    case 'V':
      return rng.pick(topic.verbsT).base;
    case 'Vs':
      return rng.pick(topic.verbsT).third;
    case 'Vd':
      return rng.pick(topic.verbsT).past;
    case 'Vg':
      return rng.pick(topic.verbsT).ing;
    case 'I':
      return rng.pick(topic.verbsI).base;
    case 'Is':
      return rng.pick(topic.verbsI).third;
    case 'Id':
      return rng.pick(topic.verbsI).past;
    case 'Ig':
      return rng.pick(topic.verbsI).ing;
    case 'P':
      return rng.nextFloat() < 0.25 ? rng.pick(SHARED_WORDS.names) : rng.pick(topic.agents);
    case 'Pl':
      return rng.pick(topic.places);
    case 'U':
      return rng.pick(topic.units);
    case 'Name':
      return rng.pick(SHARED_WORDS.names);
    case 'City':
      return rng.pick(SHARED_WORDS.cities);
    case 'Day':
      return rng.pick(SHARED_WORDS.days);
    case 'Month':
      return rng.pick(SHARED_WORDS.months);
    case 'Adv':
      return rng.pick(SHARED_WORDS.adverbs);
    case 'Conn':
      return rng.pick(SHARED_WORDS.connectors);
    case 'When':
      return rng.pick(SHARED_WORDS.whens);
    case 'GA':
      return rng.pick(SHARED_WORDS.adjectives);
    case 'Feel':
      return rng.pick(SHARED_WORDS.feelings);
    default:
      throw new Error(`corpus template slot {${slot}} is unknown (topic ${topic.name})`);
  }
}

/** Upper-cases the first letter of a sentence. */
export function capitalize(sentence: string): string {
  return sentence.length === 0 ? sentence : sentence.charAt(0).toUpperCase() + sentence.slice(1);
}
