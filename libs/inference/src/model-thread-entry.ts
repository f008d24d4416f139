// The model thread (see model-thread.ts): loads a package and answers `analyse` requests one at a
// time. onnxruntime-node's session.run is synchronous, so running it here keeps the service's
// event loop free for storage and queue work while the model computes.
import { parentPort, workerData } from 'node:worker_threads';
import { loadModelPackage, type LoadOptions } from './model-package.ts';
import type { PresentationImage } from './preprocess.ts';
import type { ThreadReply, ThreadRequest } from './model-thread.ts';

const port = parentPort!;
const { dir, options } = workerData as { dir: string; options: LoadOptions };
const post = (reply: ThreadReply): void => port.postMessage(reply);
const failure = (error: unknown) => ({ name: error instanceof Error ? error.name : 'Error', message: error instanceof Error ? error.message : String(error) });

try {
  const pkg = await loadModelPackage(dir, options);
  port.on('message', (request: ThreadRequest) => {
    if (request.type === 'close') {
      void pkg.close().finally(() => port.close());
      return;
    }
    pkg.analyse(request.images as PresentationImage[]).then(
      (analyses) => post({ type: 'result', id: request.id, analyses }),
      (error: unknown) => post({ type: 'failed', id: request.id, error: failure(error) }),
    );
  });
  post({ type: 'ready', manifest: pkg.manifest, sha256: pkg.sha256, executionProvider: pkg.executionProvider, fallback: pkg.fallback, scope: pkg.scope, hasOodDetector: pkg.hasOodDetector });
} catch (error) {
  post({ type: 'load-failed', error: failure(error) });
  port.close();
}
