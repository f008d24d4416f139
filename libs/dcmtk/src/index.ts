export * from './dcmtk-runner.ts';
