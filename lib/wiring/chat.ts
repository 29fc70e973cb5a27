import { fallbackKey, OpenAIChatModel } from '#adapters/model.ts';
import { AccountLimits } from '#chat/limits.ts';
import type { ChatDeps } from '#chat/turn.ts';
import { limitSettings, modelSettings, replySettings } from '#commons/config.ts';
import {
  accountStore,
  conversationStore,
  exchangeStore,
  historyStore,
  idempotencyStore,
  replyStore,
} from './stores.ts';
import { kmsKeyVault } from './vault.ts';

/**
 * Everything the routes that call the model (send, stream, regenerate) use. Imported only by
 * those functions: it brings the model and KMS clients into their bundles (see `stores.ts`).
 */
export function chatDeps(): ChatDeps {
  const model = modelSettings();
  const limits = limitSettings();
  const accounts = accountStore();
  return {
    exchanges: exchangeStore(),
    history: historyStore(),
    titles: conversationStore(),
    replies: replyStore(),
    accounts,
    vault: kmsKeyVault(),
    model: new OpenAIChatModel({ settings: model }),
    limits: new AccountLimits({
      accounts,
      perMinute: limits.RATE_LIMIT_PER_MINUTE,
      dailyTokens: limits.DAILY_TOKEN_LIMIT,
    }),
    idempotency: idempotencyStore(),
    settings: { ...model, ...replySettings() },
    fallbackKey: fallbackKey(model),
  };
}
