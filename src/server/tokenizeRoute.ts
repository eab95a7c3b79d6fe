// POST /tokenize: the served model's token ids for a text, in vLLM's shape ({prompt} -> {tokens, count,
// max_model_len}), so a client can size prompts in the server's own tokens.
import { z } from 'zod';
import { badRequest, unavailable } from './apiError.js';
import { renderChatPrompt } from './chatTemplate.js';
import { sendError, sendJson, type Route } from './httpApp.js';

const tokenizeBody = z.union([
  z.object({ prompt: z.string({ error: 'must be a string' }), model: z.string().nullish() }),
  z.object({ messages: z.array(z.object({ role: z.enum(['system', 'developer', 'user', 'assistant']), content: z.string() })).min(1), model: z.string().nullish() }),
]);

/** The tokenize route. */
export const tokenizeRoute: Route = {
  method: 'POST',
  path: '/tokenize',
  handler(state, _req, res, body) {
    const model = state.model;
    if (!model) {
      sendError(res, unavailable('loading model'));
      return;
    }
    const r = tokenizeBody.safeParse(body);
    if (!r.success) throw badRequest(`expected {"prompt": "<text>"} or {"messages": [...]}`, 'prompt');
    const tokens = 'prompt' in r.data ? model.tokenizer.encode(r.data.prompt) : model.tokenizer.encode(renderChatPrompt(r.data.messages));
    sendJson(res, 200, { tokens, count: tokens.length, max_model_len: model.maxContext });
  },
};
