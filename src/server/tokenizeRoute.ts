// POST /tokenize: the served model's token ids for a text, in vLLM's shape ({prompt} -> {tokens, count,
// max_model_len}), so a client can size prompts in the server's own tokens.
import { badRequest, unavailable } from './apiError.js';
import { renderChatPrompt } from './chatTemplate.js';
import { sendError, sendJson, type Route } from './httpApp.js';
import { parseTokenizeBody } from './requestSchemas.js';

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
    const r = parseTokenizeBody(body);
    if (!r) throw badRequest(`expected {"prompt": "<text>"} or {"messages": [...]}`, 'prompt');
    const tokens = 'prompt' in r ? model.tokenizer.encode(r.prompt) : model.tokenizer.encode(renderChatPrompt(r.messages));
    sendJson(res, 200, { tokens, count: tokens.length, max_model_len: model.maxContext });
  },
};
