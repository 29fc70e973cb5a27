import createClient from 'openapi-fetch';
import type { paths } from './api.d.ts';

/** A frontend's use of the typed client: send a message, then page the history back. */
export async function sendAndPage(baseUrl: string, token: string, userId: string) {
  const api = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });

  const sent = await api.POST('/api/chat/ai/send', { body: { message: 'Hello!' } });
  if (sent.error) throw new Error(sent.error.error);
  console.log(sent.data.ai_message.content);

  const pages = [];
  let cursor: string | undefined;
  do {
    const { data, error } = await api.GET('/api/chat/ai/history/{userId}', {
      params: { path: { userId }, query: { order: 'desc', limit: 25, cursor } },
    });
    if (error) throw new Error(error.error);
    pages.push(data.messages);
    cursor = data.pagination.next_cursor ?? undefined;
  } while (cursor);
  return { reply: sent.data.ai_message, pages };
}
