/**
 * Which instances are analysed: those the scope of the model that will run does not exclude by
 * their DICOM attributes (`decideScopeByAttributes` in @cxr/contracts). The worker publishes that
 * scope when it puts a model into service; ingest reads it from Redis (`ModelScopeSource`), and uses
 * DEFAULT_MODEL_SCOPE until a worker has published one. An absent attribute is not a pass: the
 * worker's pixel checks decide for that image.
 */
import {
  DEFAULT_MODEL_SCOPE, decideScopeByAttributes, modelScopeKey, publishedModelScopeSchema,
  type ModelScope, type ScopeAttributes,
} from '@cxr/contracts';
import type { Redis } from '@cxr/platform';

export type EligibilityInput = ScopeAttributes;
export type EligibilityDecision = { eligible: true } | { eligible: false; reason: string };

export function decideEligibility(scope: ModelScope, input: EligibilityInput): EligibilityDecision {
  // Ingest's records hold 0 for an absent Rows/Columns.
  const decision = decideScopeByAttributes(scope, { ...input, rows: input.rows || undefined, columns: input.columns || undefined });
  return decision.inScope ? { eligible: true } : { eligible: false, reason: decision.reason };
}

export interface ModelScopeSource {
  /** The scope of the model in service (cached briefly), and which model it is. */
  current(): Promise<{ model: string | null; scope: ModelScope }>;
}

/** Reads the published scope from Redis, at most once per `maxAgeMs`; a malformed value is not used. */
export function redisModelScopeSource(redis: Redis, queuePrefix: string, onProblem: (reason: string) => void, maxAgeMs = 5_000): ModelScopeSource {
  let cached: { at: number; value: { model: string | null; scope: ModelScope } } | undefined;
  return {
    async current() {
      if (cached && Date.now() - cached.at < maxAgeMs) return cached.value;
      const raw = await redis.get(modelScopeKey(queuePrefix));
      let value: { model: string | null; scope: ModelScope } = { model: null, scope: DEFAULT_MODEL_SCOPE };
      if (raw !== null) {
        try {
          const parsed = publishedModelScopeSchema.parse(JSON.parse(raw));
          value = { model: parsed.model, scope: parsed.scope };
        } catch (error) {
          onProblem(`the published model scope is malformed; using the default scope (${(error as Error).message.slice(0, 200)})`);
        }
      }
      cached = { at: Date.now(), value };
      return value;
    },
  };
}

/** A fixed scope (tests, and tools that run without a worker). */
export const fixedModelScopeSource = (scope: ModelScope = DEFAULT_MODEL_SCOPE, model: string | null = null): ModelScopeSource => ({
  current: () => Promise.resolve({ model, scope }),
});
