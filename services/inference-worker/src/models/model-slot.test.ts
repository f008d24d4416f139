import { describe, expect, test } from 'vitest';
import type { ImageAnalysis, ModelPackage, PresentationImage } from '@cxr/inference';
import { ModelSlot } from './model-slot.ts';

/** A stand-in model whose calls finish when the test says so; it records whether it was closed. */
function fakeModel(version: string) {
  const pending: (() => void)[] = [];
  const model = {
    manifest: { id: 'm', version },
    closed: false,
    analyse: (images: PresentationImage[]) =>
      new Promise<ImageAnalysis[]>((resolve) => pending.push(() => resolve(images.map(() => ({ findings: [], text: { findings: version, impression: '', complete: true }, timingsMs: { preprocess: 0, vision: 0, decode: 0, scope: 0 }, scope: { inScope: true as const, score: null, limit: null } }))))),
    async close() {
      model.closed = true;
    },
  };
  return { model: model as unknown as ModelPackage & { closed: boolean }, finishAll: () => pending.splice(0).forEach((f) => f()) };
}
const image: PresentationImage = { width: 1, height: 1, data: new Uint16Array(1) };
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('ModelSlot', () => {
  test('a call running when the model is replaced finishes on the old model, which is closed only afterwards', async () => {
    const old = fakeModel('1.0.0');
    const next = fakeModel('2.0.0');
    const slot = new ModelSlot(old.model);
    const running = slot.analyse([image, image]);
    const replaced = slot.replace(next.model);
    const later = slot.analyse([image]);
    await tick();
    expect(old.model.closed).toBe(false);
    expect(slot.model).toBe(next.model);

    old.finishAll();
    const runs = await running;
    expect(runs.map((r) => r.model)).toEqual([old.model, old.model]);
    expect(runs[0]!.analysis.text.findings).toBe('1.0.0');
    await replaced;
    expect(old.model.closed).toBe(true);

    next.finishAll();
    expect((await later).map((r) => r.analysis.text.findings)).toEqual(['2.0.0']);
    expect(next.model.closed).toBe(false);
  });

  test('closes an idle old model at once', async () => {
    const old = fakeModel('1.0.0');
    const slot = new ModelSlot(old.model);
    await slot.replace(fakeModel('2.0.0').model);
    expect(old.model.closed).toBe(true);
  });
});
