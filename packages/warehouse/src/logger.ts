/** The subset of a pino logger the warehouse writes to (the services pass their pino logger). */
export interface WarehouseLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

const noop = (): void => {};
export const silentLogger: WarehouseLogger = { info: noop, warn: noop, error: noop, debug: noop };
