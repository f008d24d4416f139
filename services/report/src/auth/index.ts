export * from './http-auth.ts';
export * from './signed-urls.ts';
