// Types of progress.js (browser module), for the tests.
export interface LogLine {
  message: string;
  timestamp?: string;
  level?: string;
}
export function progressOf(status: unknown, logs?: LogLine[]): { done: number; total: number } | { fraction: number } | null;
export function mergeLogs(seen: LogLine[], status: unknown): boolean;
export function describeStatus(status: unknown): string;
