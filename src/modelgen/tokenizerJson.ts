// Writes a trained BpeModel as the Hugging Face files a GPT-2 export carries: tokenizer.json (BPE model,
// ByteLevel pre-tokenizer/post-processor/decoder, <|endoftext|> as an added special token) and
// tokenizer_config.json. Loadable by @huggingface/tokenizers, transformers.js and the Rust/Python library.

import { END_OF_TEXT, type BpeModel } from './bpe.js';

/** The JSON object of a tokenizer.json file. */
export type TokenizerJson = Record<string, unknown>;

const SPECIAL_TOKEN_FLAGS = { single_word: false, lstrip: false, rstrip: false, normalized: true, special: true };

/** Builds tokenizer.json content for `model`. */
export function buildTokenizerJson(model: BpeModel): TokenizerJson {
  const vocab: Record<string, number> = {};
  model.tokens.forEach((t, i) => {
    vocab[t] = i;
  });
  const byteLevel = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: model.endOfTextId, content: END_OF_TEXT, ...SPECIAL_TOKEN_FLAGS }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', ...byteLevel },
    post_processor: { type: 'ByteLevel', ...byteLevel, trim_offsets: false },
    decoder: { type: 'ByteLevel', ...byteLevel },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      // "a b" strings: the format every tokenizers release reads (token strings never contain a space).
      merges: model.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/**
 * The chat template matches the corpus's chat lines ("User: ...\nAssistant: ..."), so a generated model
 * continues a chat prompt the way it saw chats in training.
 */
export const CHAT_TEMPLATE =
  "{% for message in messages %}{% if message['role'] == 'user' %}User: {{ message['content'] }}\n" +
  "{% elif message['role'] == 'assistant' %}Assistant: {{ message['content'] }}\n" +
  "{% else %}{{ message['content'] }}\n{% endif %}{% endfor %}" +
  '{% if add_generation_prompt %}Assistant:{% endif %}';

/** Builds tokenizer_config.json content (GPT-2 conventions: <|endoftext|> is BOS, EOS and UNK). */
export function buildTokenizerConfig(model: BpeModel, modelMaxLength: number): Record<string, unknown> {
  return {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: { [String(model.endOfTextId)]: { content: END_OF_TEXT, ...SPECIAL_TOKEN_FLAGS } },
    bos_token: END_OF_TEXT,
    chat_template: CHAT_TEMPLATE,
    // Decoding must give back the exact text; GPT-2's " ." clean-up would not.
    clean_up_tokenization_spaces: false,
    eos_token: END_OF_TEXT,
    errors: 'replace',
    model_max_length: modelMaxLength,
    pad_token: null,
    tokenizer_class: 'GPT2Tokenizer',
    unk_token: END_OF_TEXT,
  };
}
