export * from './errors.ts';
export * from './config.ts';
export * from './logger.ts';
export * from './object-store.ts';
export * from './redis.ts';
export * from './metrics.ts';
export * from './http.ts';
export * from './auth.ts';
