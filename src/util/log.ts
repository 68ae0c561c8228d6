/**
 * Logging through `debug`, injected so the simulator can prefix each line with the node and the
 * virtual time. Namespaces are `skein:<area>:<part>`; enable them with DEBUG=skein:*.
 * Nothing in src/ writes to the console except the CLI.
 */
import createDebug from 'debug';

export type Logger = (format: string, ...args: unknown[]) => void;

/** Makes a logger for a namespace, e.g. `skein:raft`. */
export type LoggerFactory = (namespace: string) => Logger;

/** The production factory: `debug` namespaces, silent unless enabled through DEBUG. */
export const debugLoggers: LoggerFactory = (namespace) => createDebug(namespace);

/** A factory that discards everything. */
export const silentLoggers: LoggerFactory = () => () => {};
