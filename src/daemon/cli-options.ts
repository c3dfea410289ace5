/**
 * Command-line number parsers for commander, shared by the `ringflow` CLI and the benchmark CLIs, so
 * every bad option reads the same: the option's name, the allowed range, and what was given.
 */
import { InvalidArgumentError } from 'commander';

/** An integer option in [min, max]. */
export function intOption(name: string, min = 1, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
}

/** A finite number option in [min, max]. */
export function numberOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
}
