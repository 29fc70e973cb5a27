import { parseArgs } from 'node:util';
import { DEV_JWT_SECRET, signDevToken } from './dev-token.ts';

/** `npm run token -- <userId> [--ttl seconds]`: prints a token the local stack accepts. */
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { ttl: { type: 'string', default: '3600' } },
});
const userId = positionals[0];
const ttl = Number(values.ttl);
if (!userId || !Number.isInteger(ttl) || ttl <= 0) {
  console.error(
    'usage: npm run token -- <userId> [--ttl seconds]   (signs with JWT_SECRET, or the dev secret)',
  );
  process.exit(2);
}
console.log(await signDevToken(userId, process.env.JWT_SECRET || DEV_JWT_SECRET, ttl));
