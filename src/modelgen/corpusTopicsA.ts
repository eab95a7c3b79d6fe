// Topic lexicons for the generated corpus, part one (serving, weather, cooking, travel, gardening,
// music, sports). Format: see TopicSource in corpusGrammar.ts.

import type { TopicSource } from './corpusGrammar.js';

/** The first half of the corpus topics. */
export const TOPICS_A: TopicSource[] = [
  {
    name: 'serving',
    nouns: `server request queue batch token model cache replica GPU kernel latency endpoint prompt response
      stream worker thread process node cluster balancer container benchmark metric dashboard log deployment
      config checkpoint tensor layer weight shard scheduler timeout retry gateway socket port buffer`,
    adjs: 'slow fast idle busy stale warm cold quantized sharded overloaded healthy flaky stable noisy cached parallel concurrent',
    verbsT: `deploy restart scale monitor profile cache batch quantize shard measure benchmark route throttle retry
      configure tune compile load serve stream drain upgrade debug|debugged|debugging trace split|split|splitting
      run|ran|running`,
    verbsI: 'crash stall recover spike degrade respond time_out|timed_out|timing_out wait fail hang|hung',
    agents: `the operator, the engineer, the on-call engineer, the team, the load balancer, the scheduler, the admin,
      our service, the client, the developer`,
    places: `in the data center, on the cluster, behind the gateway, in production, on the staging server, at peak load,
      in the queue, on every node, during the benchmark, in the logs`,
    units: 'milliseconds seconds requests tokens megabytes gigabytes minutes',
    templates: [
      'The p95 latency went from {Num} ms to {Num} ms after {P} {Vd} the {N}.',
      'Each {N} handled {Num} requests per second.',
      'We {Vd} the model to int8 and the {N} used {Pct} less memory.',
      'The queue held {Num} requests at {Time}.',
      '{P} {Vd} {Small} replicas behind the load balancer.',
      'Time to first token was {Dec} seconds on the {A} {N}.',
      'When the batch size reached {Num}, throughput stopped growing.',
      'The {N} returned an error and {P} {Vd} the request.',
      'The GPU had {Num} gigabytes of memory, and the model used {Pct} of it.',
    ],
    qa: [
      ['How do I reduce latency on my {N}?', 'Start by {Vg} the {N}. Batching requests and caching the {Ns} usually helps by {Pct}.'],
      ['Why did the server {I} at {Time}?', 'The queue was full. {P} {Vd} the {N} and it recovered {Adv}.'],
      ['What batch size should I use?', 'Try {Num} and measure. Larger batches raise throughput but also raise latency.'],
    ],
  },
  {
    name: 'weather',
    nouns: `cloud storm wind forecast sky fog breeze puddle umbrella raincoat sunrise sunset temperature shower front
      season gust rainbow hurricane tornado drought flood snowstorm thermometer radar heatwave blizzard`,
    adjs: 'cloudy sunny windy rainy foggy humid dry cold warm chilly freezing mild stormy grey bright icy damp heavy clear',
    verbsT: 'forecast|forecast track predict measure expect watch record report flood cover soak freeze|froze|freezing warm cool',
    verbsI: 'rain snow clear_up|cleared_up|clearing_up drizzle blow|blew pour shine|shone melt freeze|froze|freezing rise|rose|rising fall|fell',
    agents: 'the forecaster, the weather station, the radio, the pilot, the farmer, my grandmother, the news, the satellite',
    places: `over the mountains, along the coast, in the valley, across the city, near the harbor, over the lake,
      in the north, on the plains, at the airport`,
    units: 'degrees millimeters hours days kilometers minutes',
    templates: [
      'The temperature dropped to {Temp} °C {When}.',
      'Expect {Pct} chance of rain on {Day}.',
      'The wind reached {Num} kilometers per hour {Pl}.',
      'It was {A} and {A} all day in {City}.',
      'The forecast for {Day} is {A} with a high of {Temp} degrees.',
      '{Num} millimeters of rain fell {Pl} {When}.',
      'Clouds rolled in {Pl} and it started to rain.',
      'The storm — the worst in {Num} years — hit {City} on {Day}.',
    ],
    qa: [
      ['Will it rain in {City} on {Day}?', 'The forecast says {Pct} chance of rain. Bring an umbrella just in case.'],
      ['What does {A} weather mean for the weekend?', 'Expect {A} mornings and {A} afternoons, with temperatures near {Temp} °C.'],
    ],
  },
  {
    name: 'cooking',
    nouns: `soup onion oven pan pot recipe sauce loaf|loaves dough knife|knives spoon bowl tomato|tomatoes carrot
      potato|potatoes lemon pepper salad cake egg noodle dumpling stew pie cookie apron cutting_board skillet lid
      spice herb broth curry omelet pancake sandwich café jalapeño`,
    adjs: 'spicy sweet salty crispy tender fresh raw golden creamy bitter sour hot thick thin juicy smoky rich bland sticky',
    verbsT: `chop|chopped|chopping stir|stirred|stirring bake boil fry|fried slice taste season roast mix peel grate
      whisk knead pour serve melt simmer drain toast`,
    verbsI: 'simmer boil bubble burn rise|rose|rising cool thicken smell',
    agents: 'the chef, my uncle, the baker, the cook, the waiter, our neighbor, the kitchen staff, my sister',
    places: `in the kitchen, on the stove, in the oven, at the market, on the counter, in a large bowl,
      at the restaurant, over low heat, at the café`,
    units: 'minutes grams cups spoons hours degrees',
    templates: [
      'Bake the {N} at {Num} degrees for {Num} minutes.',
      'Add {Small} cups of flour and {Small} eggs.',
      'Chop the onions, then stir them into the {N}.',
      'The {N} tasted {A} and a little {A}.',
      'Let the {N} {I} for {Num} minutes before serving.',
      'The recipe calls for {Num} grams of butter.',
      'Serve the {N} with {aA} {N} and fresh bread.',
    ],
    qa: [
      ['How long should I bake {aN}?', 'About {Num} minutes at {Num} degrees. Check it when the top turns golden.'],
      ['My {N} is too {A}. What can I do?', 'Add a little lemon or some {Ns}, then let it {I} for a few minutes.'],
    ],
  },
  {
    name: 'travel',
    nouns: `train station ticket passport suitcase flight airport hotel map guide bus platform journey trip border seat
      backpack taxi ferry harbor museum bridge street market hostel postcard road highway tunnel carriage cabin
      island beach village souvenir itinerary visa`,
    adjs: 'crowded delayed direct scenic cheap early late comfortable noisy remote famous narrow busy historic sunny empty foreign',
    verbsT: 'book pack visit cross miss catch|caught|catching rent board explore check reserve find|found photograph carry',
    verbsI: 'travel arrive depart wander leave|left|leaving return stay land fly|flew|flying',
    agents: 'the traveler, the guide, the conductor, the pilot, our driver, the tourists, my cousin, the hotel clerk',
    places: `at the station, on the platform, at the airport, near the old town, by the river, on the night train,
      across the border, at the hotel, in the village square`,
    units: 'hours kilometers days minutes euros stops',
    templates: [
      'The train from {City} to {City} leaves at {Time}.',
      'Our flight was delayed by {Num} minutes.',
      'A ticket to {City} costs {Price}.',
      '{P} {Vd} a room in {City} for {Small} nights.',
      'The ferry to the island takes {Dec} hours.',
      'We {Id} in {City} on {Day} and left on {Day}.',
      'Take the bus to the last stop and walk {Num} meters.',
    ],
    qa: [
      ['What is the fastest way from {City} to {City}?', 'Take the early train. It takes about {Num} hours and costs {Price}.'],
      ['Do I need a visa to visit {City}?', 'It depends on your passport. Check with the embassy before you {V} the {N}.'],
    ],
  },
  {
    name: 'gardening',
    nouns: `garden seed rose tulip tree leaf|leaves root soil compost shovel hose fence bush weed flower vine bean
      pumpkin sunflower greenhouse rake bucket pot worm bee branch hedge lawn orchard apple berry herb`,
    adjs: 'green wild tall dry wet muddy leafy ripe thorny blooming fragrant shady overgrown healthy wilted sturdy',
    verbsT: 'plant water prune dig|dug|digging harvest weed trim fertilize mulch pick grow|grew spray',
    verbsI: 'bloom sprout grow|grew wilt blossom spread|spread ripen thrive',
    agents: 'the gardener, my aunt, the farmer, our neighbor, the children, the old man next door',
    places: `in the garden, along the fence, in the greenhouse, behind the shed, near the pond, in the orchard,
      on the balcony, by the gate`,
    units: 'centimeters liters weeks days meters seeds',
    templates: [
      'Plant the {Ns} {Num} centimeters apart in {Month}.',
      'Water the {N} every {Small} days during the summer.',
      'The {Ns} started to {I} in early {Month}.',
      'We harvested {Num} kilograms of {Ns} this year.',
    ],
    qa: [
      ['When should I plant {Ns}?', 'In {Month}, when the soil is {A}. Water them every {Small} days.'],
      ['Why are the leaves on my {N} turning yellow?', 'Probably too much water. Let the soil dry and {V} the {N} {Adv}.'],
    ],
  },
  {
    name: 'music',
    nouns: `song guitar piano drum violin melody chord concert album band singer lyric rhythm note stage microphone
      speaker tune orchestra choir rehearsal playlist record verse chorus beat festival`,
    adjs: 'loud soft catchy slow upbeat acoustic gentle sad joyful familiar live electric classical jazzy haunting',
    verbsT: 'play sing|sang|singing record compose tune rehearse hum|hummed|humming strum|strummed|strumming write|wrote|writing release perform mix',
    verbsI: 'sing|sang|singing dance perform play echo clap|clapped|clapping',
    agents: 'the band, the singer, the drummer, the pianist, the crowd, my brother, the conductor, the choir',
    places: 'on stage, in the studio, at the festival, in the concert hall, in the park, on the radio, at the club',
    units: 'minutes songs beats hours tracks',
    templates: [
      'The concert starts at {Time} on {Day}.',
      'The band played {Num} songs and the crowd sang along.',
      'This album sold {Num} copies in its first week.',
      'The song is {Small} minutes long and ends {Adv}.',
    ],
    qa: [['How do I learn to play the {N}?', 'Practice {Num} minutes a day. Start with {A} songs and simple chords.']],
  },
  {
    name: 'sports',
    nouns: `match goal team player coach ball referee stadium game score season league field racket bike runner
      marathon trophy whistle jersey tournament medal lap helmet court net swimmer pool`,
    adjs: 'strong quick tired fit tough close exciting fair unbeaten young skilled nervous famous final',
    verbsT: `kick throw|threw|throwing catch|caught|catching win|won|winning lose|lost|losing coach train score
      beat|beat|beating pass tackle`,
    verbsI: 'run|ran|running swim|swam|swimming jump cheer win|won|winning lose|lost|losing sprint cycle',
    agents: 'the coach, the captain, the goalkeeper, the home team, the fans, the referee, the new player, my daughter',
    places: 'on the field, at the stadium, in the final minute, on the court, at the training ground, in the pool, on the track',
    units: 'points goals laps minutes meters games',
    templates: [
      'The home team won {Small} to {Small} on {Day}.',
      'She ran the marathon in {Small} hours and {Num} minutes.',
      'The coach said the team was {A} after the match.',
      '{Num} fans watched the final at the stadium.',
    ],
    qa: [['Who won the match on {Day}?', 'The home team, {Small} to {Small}. The goalkeeper was {A}.']],
  },
];
