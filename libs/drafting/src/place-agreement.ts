import type { StatedFinding } from './sentence-grammar.ts';

/**
 * Whether a statement of a finding places it somewhere the earlier statements of the same finding
 * (the findings section's) do not: on the other side (right vs left; a finding stated as
 * bilateral or on both sides agrees with either), or, for a nodule or mass, in another lung zone.
 * Statements without a side or zone agree with anything.
 */
export function placeDisagrees(statement: StatedFinding, earlier: readonly StatedFinding[] | undefined): boolean {
  if (!earlier || earlier.length === 0) return false;
  const sides = new Set(earlier.map((e) => e.side).filter((s) => s !== null));
  const lateral = statement.side === 'right' || statement.side === 'left';
  if (lateral && !sides.has('bilateral') && (sides.has('right') || sides.has('left')) && !sides.has(statement.side!)) return true;
  if (statement.side === 'bilateral' && sides.size === 1 && (sides.has('right') || sides.has('left'))) return true;
  if (statement.code !== 'nodule' && statement.code !== 'mass') return false;
  const zones = new Set(earlier.filter((e) => !lateral || e.side === statement.side || e.side === 'bilateral' || e.side === null).map((e) => e.zone).filter((z) => z !== null));
  return statement.zone !== null && zones.size > 0 && !zones.has(statement.zone);
}
