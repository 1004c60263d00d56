// The one root logger. klog's -v levels map onto pino levels: 0-1 info, 2-4 debug, 5+ trace.
import { pino, type Logger } from 'pino';

export function levelOf(verbosity: number): 'info' | 'debug' | 'trace' {
  return verbosity >= 5 ? 'trace' : verbosity >= 2 ? 'debug' : 'info';
}

export function createLogger(opts: { readonly verbosity: number; readonly level?: string; readonly destination?: NodeJS.WritableStream }): Logger {
  return pino(
    {
      level: opts.level ?? levelOf(opts.verbosity),
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: ['token', '*.token', 'headers.authorization', '*.headers.authorization'], censor: '[redacted]' },
    },
    (opts.destination ?? process.stdout) as pino.DestinationStream,
  );
}
