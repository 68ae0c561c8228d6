/**
 * Command-line parsing for `skein` subcommands, on node:util's parseArgs: every option is declared,
 * an unknown option or a missing value is a `UsageError` naming it (exit code 2), and numbers are
 * checked here so commands only see valid values.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad command-line input: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
  readonly positionals: readonly string[];
}

export function parse(argv: readonly string[], options: OptionSpec, positionalsMax: number): Parsed {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message.replace(/\. To specify a positional argument.*$/s, '') : String(e));
  }
  if (parsed.positionals.length > positionalsMax) throw new UsageError(`unexpected argument '${parsed.positionals[positionalsMax] ?? ''}'`);
  return { values: parsed.values as Parsed['values'], positionals: parsed.positionals };
}

export function stringOption(parsed: Parsed, name: string): string | undefined {
  const v = parsed.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(parsed: Parsed, name: string): boolean {
  return parsed.values[name] === true;
}

export function listOption(parsed: Parsed, name: string): readonly string[] {
  const v = parsed.values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/** An integer option in [min, max], or `dflt` when absent. */
export function intOption(parsed: Parsed, name: string, dflt: number, min: number, max: number): number {
  const raw = stringOption(parsed, name);
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${raw}'`);
  return n;
}

/** The positional argument at `index`, required. */
export function required(parsed: Parsed, index: number, what: string): string {
  const v = parsed.positionals[index];
  if (v === undefined || v === '') throw new UsageError(`missing ${what}`);
  return v;
}
