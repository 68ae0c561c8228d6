/**
 * What every client command of `skein` shares: the `--brokers` option (or SKEIN_BROKERS, default the
 * local cluster of DESIGN.md §7), the Skein client made from it, an admin opened and closed around a
 * call, and JSON output.
 */
import { Skein } from '../client/skein.js';
import type { Admin } from '../client/admin.js';
import { stringOption, UsageError, type OptionSpec, type Parsed } from './args.js';

export const DEFAULT_BROKERS = 'ws://127.0.0.1:9092,ws://127.0.0.1:9093,ws://127.0.0.1:9094';
export const BROKERS_OPTION: OptionSpec = { brokers: { type: 'string' } };

export function brokersOf(parsed: Parsed): string[] {
  const raw = stringOption(parsed, 'brokers') ?? process.env['SKEIN_BROKERS'] ?? DEFAULT_BROKERS;
  const brokers = raw.split(',').map((b) => b.trim()).filter((b) => b !== '');
  for (const b of brokers) if (!/^wss?:\/\/[^/]+/.test(b)) throw new UsageError(`--brokers: '${b}' is not a ws:// or wss:// URL`);
  if (brokers.length === 0) throw new UsageError('--brokers is empty');
  return brokers;
}

export function skeinOf(parsed: Parsed): Skein {
  return new Skein({ brokers: brokersOf(parsed), clientId: 'skein-cli' });
}

export async function withAdmin<T>(parsed: Parsed, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = skeinOf(parsed).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}
