// Words and sentence templates shared by every topic of the generated corpus. The topic-specific lists
// live in corpusTopics*.ts; see corpusGrammar.ts for the slot names.

const list = (s: string): string[] => s.split(/\s+/).filter((w) => w.length > 0);
const phrases = (s: string): string[] =>
  s
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);

/** Shared word lists (names, places, time words, adverbs, connectors). */
export const SHARED_WORDS = {
  names: list(`Maria James Aisha Kenji Lucia Omar Priya Daniel Elena Tomas Grace Mateo Hannah Yusuf Chloe
    Viktor Amara Noah Ingrid Rafael Sofia Arjun Fatima Leon Mei Samuel Nadia Oscar Zoe Henrik Ana Felix
    Rosa Ibrahim Clara Diego Nora Pablo Leila Marcus Julia Tariq Emma Hugo Lena Mohammed Iris Theo`),
  cities: list(`Lisbon Oslo Nairobi Kyoto Toronto Lima Vienna Dublin Seoul Cairo Madrid Prague Austin Denver
    Mumbai Sydney Helsinki Porto Lyon Hamburg Bogota Quito Tunis Krakow Osaka Montreal Chicago Boston
    Edinburgh Istanbul Athens Warsaw Santiago Manila Hanoi Zurich Geneva Bergen Accra Perth`),
  days: list('Monday Tuesday Wednesday Thursday Friday Saturday Sunday'),
  months: list('January February March April May June July August September October November December'),
  adverbs: list(`quickly slowly carefully quietly easily gently finally suddenly usually rarely often
    always nearly mostly barely clearly simply calmly loudly happily sadly honestly briefly steadily
    smoothly badly safely roughly warmly evenly eventually already`),
  connectors: phrases(`However, Later, Meanwhile, After that, In the end, At first, Still, Of course, For example,
    Luckily, Sadly, In fact, As usual, Even so, By noon, That evening, The next day, Later that week, Then,
    On the other hand, To be honest, In short, Once again, Before long`),
  whens: phrases(`this morning, last night, yesterday, today, tomorrow, last week, next week, every day,
    on weekends, in the afternoon, before dinner, after lunch, in the spring, during the winter, at dawn,
    late at night, early on, once a month, twice a week, right away, in a few minutes, all day`),
  adjectives: list(`good bad new old big small long short great little early late important different
    simple easy hard clear strange normal common special quiet busy empty full cheap expensive`),
  feelings: list(`happy tired surprised worried calm curious proud relieved nervous bored excited annoyed
    grateful confused hopeful`),
};

/** Templates that work with any topic's words. */
export const SHARED_TEMPLATES: string[] = [
  '{P} {Vd} the {A} {N} {Pl}.',
  '{P} {Vd} {aN} {When}.',
  'The {N} {Is} {Adv}.',
  'The {A} {N} {Id} {When}.',
  'We {Vd} {Small} {Ns} and {Vd} the rest {Pl}.',
  'If the {N} is {A}, {P} will {V} it {Adv}.',
  'The {Ns} were {A}, but the {N} was {A}.',
  'On {Day}, {Name} {Vd} {aA} {N} {Pl}.',
  '{Conn}, {P} {Vd} the {N}.',
  '{Conn}, the {Ns} {Id} {Adv}.',
  'It took {Num} {U} to {V} the {Ns}.',
  'There are {Num} {Ns} {Pl}, and {Small} of them are {A}.',
  '{Name} said that the {N} {Id} {Adv}.',
  'Do not {V} the {N} until it is {A}.',
  'Please {V} the {Ns} {When}.',
  'I think the {N} is too {A} to {V}.',
  '{Name} and {Name} {Vd} the {Ns} together.',
  'Nobody expected the {N} to {I} {When}.',
  'Every {N} needs {aA} {N} and {aA} {N}.',
  'My {N} {Is} when it gets {A}.',
  'You can {V} the {N} or {V} the {Ns}, but not both.',
  'Why does the {N} {I} so {Adv}?',
  'Is the {N} {A} enough to {V}?',
  'How many {Ns} did {P} {V} {When}?',
  '{P} was {Feel} because the {N} {Id} {When}.',
  'The {N} costs {Price}, which is {GA} for {aN}.',
  'About {Pct} of the {Ns} {Pl} are {A}.',
  'In {Year}, {P} {Vd} the first {N} {Pl}.',
  'By {Time}, the {Ns} had {Id}.',
  '"{Name}, can you {V} the {N}?" asked {P}.',
  '"The {N} is {A}," said {Name}.',
  'She {Vd} the {N}, then she {Vd} {aN}.',
  'He {Is} {Adv} while the {Ns} {I}.',
  'They {Vd} {Num} {Ns} in {Month}.',
  '{P} keeps {Vg} the {Ns} {When}.',
  'After {Vg} the {N}, {P} {Vd} the {Ns}.',
  'The {GA} {N} is not as {A} as the {N}.',
  '{Conn}, {P} {Is} {Adv}, and the {N} {Is} too.',
  'Somebody {Vd} the {N} {Pl} and left.',
  'The {N} in {City} is {A} and {A}.',
  'We moved the {Ns} from {City} to {City} in {Month}.',
  'It is {GA} to {V} {aN} {When}.',
  'Most {Ns} {I} {Adv}, but this {N} {Is} {Adv}.',
  'What {P} {Vd} was {A}, not {A}.',
  'The {Ns} {Pl} {I} whenever {P} {Vs} the {N}.',
];

/** Question/answer templates for chat-like lines that work with any topic. */
export const SHARED_QA: [string, string][] = [
  ['How do I {V} the {N}?', 'First, {V} the {N} {Adv}. Then {V} the {Ns} and wait {Num} {U}.'],
  ['What is the best way to {V} {Ns}?', 'Most people {V} them {Adv}. {Conn}, the {A} ones {I} {When}.'],
  ['Why is my {N} so {A}?', 'It is usually the {N}. Try to {V} the {N} {When} and check again.'],
  ['Can you explain how {aN} {Is}?', 'Sure. {aN} {Is} when the {N} is {A}. The {Ns} {I} {Adv}.'],
  ['Should I {V} the {Ns} {When}?', 'Yes, if they are {A}. Otherwise {V} them {When}.'],
  ['Is it normal for the {N} to {I}?', 'It happens. {P} {Vs} the {N} {Adv}, so it is {GA}.'],
  ['Where can I find {aA} {N}?', 'Look {Pl}. {Name} {Vd} one there {When}.'],
  ['How long does it take to {V} {aN}?', 'About {Num} {U}, depending on the {N}.'],
  ['What should I do if the {N} {Is}?', 'Do not panic. {V} the {N} {Adv} and {V} the {Ns}.'],
  ['Thanks! Any other tips?', 'Keep the {Ns} {A} and {V} the {N} {When}.'],
];
