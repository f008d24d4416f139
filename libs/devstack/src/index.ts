export * from './ports.ts';
export * from './redis-server.ts';
export * from './s3-server.ts';
export * from './service-process.ts';
export * from './stack.ts';
export * from './senders.ts';
export * from './otlp-receiver.ts';
export * from './orthanc.ts';
