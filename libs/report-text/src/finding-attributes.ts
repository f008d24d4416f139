// Where and how big: laterality and zone words near a mention, and sizes written in mm or cm.
import type { Token } from './sentence-splitter.ts';

export type Laterality = 'right' | 'left' | 'bilateral';
export type Zone = 'upper' | 'middle' | 'lower' | 'apical' | 'basilar' | 'perihilar';

interface Place {
  readonly laterality?: Laterality;
  readonly zones?: readonly Zone[];
}

// Words that say a side or a zone, with the lobe abbreviations reports use.
const PLACE_WORDS: Readonly<Record<string, Place>> = {
  right: { laterality: 'right' },
  left: { laterality: 'left' },
  bilateral: { laterality: 'bilateral' },
  bilaterally: { laterality: 'bilateral' },
  both: { laterality: 'bilateral' },
  bibasilar: { laterality: 'bilateral', zones: ['basilar'] },
  bibasal: { laterality: 'bilateral', zones: ['basilar'] },
  bibasally: { laterality: 'bilateral', zones: ['basilar'] },
  biapical: { laterality: 'bilateral', zones: ['apical'] },
  upper: { zones: ['upper'] },
  mid: { zones: ['middle'] },
  middle: { zones: ['middle'] },
  midlung: { zones: ['middle'] },
  lower: { zones: ['lower'] },
  apical: { zones: ['apical'] },
  apex: { zones: ['apical'] },
  apicoposterior: { zones: ['apical'] },
  basilar: { zones: ['basilar'] },
  basal: { zones: ['basilar'] },
  base: { zones: ['basilar'] },
  perihilar: { zones: ['perihilar'] },
  hilar: { zones: ['perihilar'] },
  lingula: { laterality: 'left', zones: ['middle'] },
  lingular: { laterality: 'left', zones: ['middle'] },
  rul: { laterality: 'right', zones: ['upper'] },
  rml: { laterality: 'right', zones: ['middle'] },
  rll: { laterality: 'right', zones: ['lower'] },
  lul: { laterality: 'left', zones: ['upper'] },
  lll: { laterality: 'left', zones: ['lower'] },
};

/** Side and zones said within `window` words of tokens [start, end), inside [from, to). */
export function placeOf(keys: readonly string[], start: number, end: number, from: number, to: number, window = 6): Place {
  const sides = new Set<Laterality>();
  const zones = new Set<Zone>();
  const lo = Math.max(from, start - window);
  const hi = Math.min(to, end + window);
  let nearestSide: { laterality: Laterality; distance: number } | null = null;
  for (let i = lo; i < hi; i += 1) {
    const place = PLACE_WORDS[keys[i] ?? ''];
    if (!place) continue;
    const distance = i < start ? start - i : i >= end ? i - end + 1 : 0;
    if (place.laterality) {
      sides.add(place.laterality);
      if (!nearestSide || distance < nearestSide.distance) nearestSide = { laterality: place.laterality, distance };
    }
    for (const zone of place.zones ?? []) zones.add(zone);
  }
  // "right greater than left", "both lungs": two sides named for one finding is bilateral.
  const laterality: Laterality | undefined = sides.has('bilateral') || (sides.has('right') && sides.has('left')) ? 'bilateral' : nearestSide?.laterality;
  return { ...(laterality ? { laterality } : {}), ...(zones.size > 0 ? { zones: [...zones] } : {}) };
}

export interface Measurement {
  /** Largest dimension in millimetres. */
  readonly mm: number;
  /** Character offsets in the text searched. */
  readonly start: number;
  readonly end: number;
}

const NUMBER = String.raw`\d+(?:\.\d+)?`;
const UNIT = String.raw`(mm|millimet(?:er|re)s?|cm|centimet(?:er|re)s?)`;
const SIZE = new RegExp(String.raw`(?<![\w.])(${NUMBER}(?:\s*(?:x|×|by)\s*${NUMBER})*)\s*${UNIT}(?![a-z])`, 'gi');

/** Every size written in `text` ("8 mm", "1.2 cm", "2.1 x 1.5 cm"), largest dimension, in mm. */
export function measurementsIn(text: string): Measurement[] {
  const found: Measurement[] = [];
  SIZE.lastIndex = 0;
  for (let m = SIZE.exec(text); m; m = SIZE.exec(text)) {
    const numbers = (m[1] ?? '').split(/\s*(?:x|×|by)\s*/i).map(Number);
    const largest = Math.max(...numbers);
    const unit = (m[2] ?? '').toLowerCase();
    const mm = unit.startsWith('c') ? largest * 10 : largest;
    found.push({ mm: Math.round(mm * 10) / 10, start: m.index, end: m.index + m[0].length });
  }
  return found;
}

export function tokenIndexAt(tokens: readonly Token[], offset: number): number {
  const index = tokens.findIndex((t) => t.end > offset);
  return index < 0 ? tokens.length - 1 : index;
}
