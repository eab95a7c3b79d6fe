// The chat template: a plain transcript, because generated models have no chat_template and the seed's clients
// only need something stable and documented. Each message becomes one "Role: content" line, and the prompt ends
// with "Assistant:" so the model continues as the assistant:
//
//   System: You are terse.
//   User: Say hi.
//   Assistant:
//
// system and developer messages are both labelled "System".
import type { ChatMessage } from './requestSchemas.js';

const LABELS: Record<ChatMessage['role'], string> = { system: 'System', developer: 'System', user: 'User', assistant: 'Assistant' };

/** Renders chat messages into the prompt text the model continues. */
export function renderChatPrompt(messages: readonly ChatMessage[]): string {
  return messages.map((m) => `${LABELS[m.role]}: ${m.content}\n`).join('') + 'Assistant:';
}
