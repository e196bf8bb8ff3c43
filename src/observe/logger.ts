// Structured JSON logs (pino). Object-first calls: log.info({ backup }, 'message').
// Redaction is a second line of defence: Secret data never reaches a log by design, and any
// field that could carry credentials is censored should one ever be logged by mistake.
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export const REDACT_PATHS = [
  'data',
  'stringData',
  '*.data',
  '*.stringData',
  '*.*.data',
  '*.*.stringData',
  'secretAccessKey',
  '*.secretAccessKey',
  'sessionToken',
  '*.sessionToken',
  'password',
  '*.password',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
];

export interface LoggerOptions {
  level?: string;
  /** Where JSON lines go; stderr by default so stdout stays for command output. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? process.env.LIFEBOAT_LOG_LEVEL ?? 'info',
      base: { app: 'lifeboat' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    (opts.destination ?? process.stderr) as pino.DestinationStream,
  );
}

/** A logger that drops everything (library calls without a caller-provided logger). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
