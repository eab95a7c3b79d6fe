// Topic lexicons for the generated corpus, part two (office, health, shopping, science, home, nature).
// Format: see TopicSource in corpusGrammar.ts.

import type { TopicSource } from './corpusGrammar.js';

/** The second half of the corpus topics. */
export const TOPICS_B: TopicSource[] = [
  {
    name: 'office',
    nouns: `meeting email report deadline manager project desk calendar spreadsheet budget client invoice slide
      presentation printer colleague contract schedule memo agenda proposal office laptop coffee document task
      résumé`,
    adjs: 'urgent late long boring productive quarterly remote shared final draft busy formal',
    verbsT: `schedule send|sent|sending review sign approve print cancel postpone prepare update share discuss finish
      email`,
    verbsI: 'work meet|met|meeting agree complain wait resign',
    agents: 'the manager, my colleague, the intern, the client, the director, the whole team, the accountant',
    places: 'in the meeting room, at my desk, in the office, on the shared drive, over lunch, on the call',
    units: 'minutes hours pages days slides',
    templates: [
      'The meeting moved from {Time} to {Time} on {Day}.',
      'The report is due on {Day}, {Month} {Small}.',
      'The budget for the project is {Price} thousand.',
      '{P} sent {Num} emails before lunch.',
      'Attach your résumé and a short cover letter.',
    ],
    qa: [
      ['Can we move the meeting to {Day}?', 'Sure. I will update the calendar and send the new agenda.'],
      ['Did you {V} the {N}?', 'Not yet. I will {V} it {When} and email you.'],
    ],
  },
  {
    name: 'health',
    nouns: `doctor nurse patient clinic medicine fever cough headache vitamin exercise walk diet muscle knee pill
      appointment symptom injury bandage hospital heart lung stretch meal habit`,
    adjs: 'sick healthy sore tired stiff dizzy weak strong rested hungry thirsty swollen mild severe',
    verbsT: 'treat examine prescribe stretch rest bandage check measure drink|drank|drinking eat|ate|eating avoid',
    verbsI: 'rest recover sleep|slept breathe heal sneeze cough exercise',
    agents: 'the doctor, the nurse, my father, the patient, the pharmacist, the trainer',
    places: 'at the clinic, in the hospital, at home, at the gym, in the waiting room, at the pharmacy',
    units: 'hours milligrams days weeks minutes glasses',
    templates: [
      'Take {Small} pills a day for {Small} days.',
      'The doctor said to rest for {Small} days and drink water.',
      'Walking {Num} minutes a day helps the heart.',
      'The fever went down to {Dec} degrees overnight.',
    ],
    qa: [['What should I do about {aA} {N}?', 'Rest, drink water and see a doctor if it lasts more than {Small} days.']],
  },
  {
    name: 'shopping',
    nouns: `shop store price discount receipt basket cart shelf|shelves cashier customer coin wallet bag coupon sale
      brand jacket shoe shirt hat gift bill market stall bakery pharmacy box`,
    adjs: 'cheap expensive crowded open closed new used cozy local tiny huge reduced',
    verbsT: `buy|bought|buying sell|sold|selling return pay|paid|paying wrap order compare try carry
      choose|chose|choosing`,
    verbsI: 'shop|shopped|shopping browse queue bargain close',
    agents: 'the cashier, the customer, the shop owner, my mother, the delivery driver, the tailor',
    places: 'at the market, in the mall, at the corner shop, online, at the checkout, on the high street',
    units: 'dollars items minutes boxes bags',
    templates: [
      'The jacket was {Pct} off, so it cost {Price}.',
      'We paid {Price} for {Small} bags of apples.',
      'The shop opens at {Time} and closes at {Time}.',
      'Keep the receipt in case you need to return the {N}.',
    ],
    qa: [['Where can I buy {aA} {N}?', 'Try the market {When}. Prices start at {Price}.']],
  },
  {
    name: 'science',
    nouns: `planet star telescope experiment sample molecule cell atom orbit moon comet galaxy laboratory microscope
      theory signal particle fossil rock crystal wave magnet battery circuit sensor equation measurement`,
    adjs: 'tiny distant bright dense invisible frozen charged magnetic ancient precise random stable rare',
    verbsT: 'observe measure analyze test detect calculate heat cool collect study publish',
    verbsI: 'orbit glow decay expand shrink|shrank|shrinking react vibrate spin|spun|spinning',
    agents: 'the scientist, the astronomer, the student, the lab team, the researcher, the professor',
    places: 'in the lab, under the microscope, in deep space, at the observatory, near the equator, on the moon',
    units: 'meters seconds kelvin years samples kilograms',
    templates: [
      'The comet passes the sun every {Num} years.',
      'The sample was heated to {Num} kelvin.',
      'The experiment was repeated {Small} times with the same result.',
      'Light from the star takes {Num} years to reach us.',
    ],
    qa: [['Why do {Ns} {I}?', 'Because the {N} is {A}. Scientists {Vd} this in {Year}.']],
  },
  {
    name: 'home',
    nouns: `house door window roof lamp chair table sofa carpet shelf|shelves wall stair garage key drawer blanket
      pillow mirror clock heater faucet pipe sink cupboard floor ceiling curtain`,
    adjs: 'cozy clean messy broken leaky dusty bright dark warm cold tidy creaky spacious narrow',
    verbsT: 'paint clean fix repair sweep|swept|sweeping vacuum lock open close move replace hang|hung|hanging fold dust',
    verbsI: 'leak creak break|broke|breaking squeak drip|dripped|dripping rattle',
    agents: 'the plumber, the landlord, my roommate, the electrician, my grandfather, the kids, the cleaner',
    places: 'in the living room, upstairs, in the basement, in the hallway, under the sink, in the attic, on the porch',
    units: 'hours meters days screws liters',
    templates: [
      'The plumber fixed the leaky faucet in {Num} minutes.',
      'We painted the wall {A} and moved the sofa.',
      'The heater broke on {Day} and the house got cold.',
      'The rent is {Price} a month.',
    ],
    qa: [['How do I fix {aA} {N}?', 'Turn off the water, {V} the {N} and {V} the old {N}.']],
  },
  {
    name: 'nature',
    nouns: `dog cat bird horse fox owl rabbit deer|deer squirrel river forest mountain lake trail wolf|wolves bear
      fish|fish cow sheep|sheep duck nest paw feather tail meadow hill cave`,
    adjs: 'wild furry shy fierce playful hungry sleepy loyal noisy curious fluffy quiet',
    verbsT: 'feed|fed|feeding walk chase spot|spotted|spotting follow brush pet|petted|petting adopt track hear|heard',
    verbsI: 'bark sing|sang|singing howl hide|hid|hiding sleep|slept nest roam graze hunt',
    agents: 'the ranger, my dog, the shepherd, the hikers, the vet, the birdwatcher, the fox',
    places: 'in the forest, by the lake, on the trail, in the meadow, under the bridge, near the cave, in the barn',
    units: 'kilometers hours birds meters days',
    templates: [
      'We saw {Small} deer near the lake at {Time}.',
      'The dog barked at the mailman every morning.',
      'The trail is {Num} kilometers long and climbs {Num} meters.',
    ],
    qa: [['How often should I feed my {N}?', 'Twice a day. Give it fresh water and walk it {When}.']],
  },
];
