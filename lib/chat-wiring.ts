import type { ChatDeps } from './chat.ts';
import { modelSettings } from './config.ts';
import { kmsKeyVault } from './key-vault.ts';
import { AccountLimits } from './limits.ts';
import { fallbackKey, OpenAIChatModel } from './model.ts';
import { accountStore, messageStore, replyStore } from './wiring.ts';

/**
 * Everything the routes that call the model (send, stream, regenerate) use. Imported only by
 * those functions: it brings the model and KMS clients into their bundles (see `wiring.ts`).
 */
export function chatDeps(): ChatDeps {
  const settings = modelSettings();
  const accounts = accountStore();
  return {
    messages: messageStore(),
    replies: replyStore(),
    accounts,
    vault: kmsKeyVault(),
    model: new OpenAIChatModel({ settings }),
    limits: new AccountLimits({
      accounts,
      perMinute: settings.RATE_LIMIT_PER_MINUTE,
      dailyTokens: settings.DAILY_TOKEN_LIMIT,
    }),
    settings,
    fallbackKey: fallbackKey(settings),
  };
}
