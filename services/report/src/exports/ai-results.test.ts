import { describe, expect, test } from 'vitest';
import { aiResultUids, MAX_GRID_SIDE, planeGeometry, resampleGrid, resultGrid, UnsizedSourceImageError } from './ai-results.ts';
import { draftReportFixture, sourceStudyFixture } from './report-fixtures.test-support.ts';

const image = sourceStudyFixture().instances[0]!;

describe('resultGrid', () => {
  test.each([
    [480, 400, { rows: 480, columns: 400, factor: 1 }],
    [MAX_GRID_SIDE, 1500, { rows: MAX_GRID_SIDE, columns: 1500, factor: 1 }],
    [MAX_GRID_SIDE + 1, 1500, { rows: 1025, columns: 750, factor: 2 }],
    [4300, 3500, { rows: 1434, columns: 1167, factor: 3 }],
  ])('keeps a %i x %i image on a grid no side of which passes the limit', (rows, columns, grid) => {
    expect(resultGrid({ ...image, rows, columns })).toEqual(grid);
  });

  test('refuses an image whose size is unknown', () => {
    expect(() => resultGrid({ ...image, rows: null })).toThrow(UnsizedSourceImageError);
  });
});

describe('resampleGrid', () => {
  test('keeps a uniform map uniform and a one-cell map the same everywhere', () => {
    const out = resampleGrid({ width: 3, height: 2, data: new Float32Array(6).fill(0.25) }, 7, 5);
    expect([...new Set(out)]).toEqual([Math.fround(0.25)]);
    expect([...new Set(resampleGrid({ width: 1, height: 1, data: Float32Array.of(0.5) }, 4, 4))]).toEqual([0.5]);
  });

  test('puts a cell value at the pixels under that cell centre, and interpolates between centres', () => {
    // Two cells side by side over 4 pixels: pixel centres 0.5..3.5 sit at -0.25, 0.25, 0.75, 1.25 cells.
    const out = resampleGrid({ width: 2, height: 1, data: Float32Array.of(0, 1) }, 4, 1);
    expect([...out]).toEqual([0, 0.25, 0.75, 1]);
  });
});

describe('planeGeometry', () => {
  test.each([[['L', 'F']], [['R', 'F']], [['A', 'FL']], [[]]])(
    'puts the frames on the plane a viewer gives a radiograph without Image Orientation, whatever its Patient Orientation %j',
    (orientation) => {
      const geometry = planeGeometry({ ...image, patientOrientation: orientation }, 1);
      expect(geometry.planeOrientation).toEqual({ ImageOrientationPatient: [1, 0, 0, 0, 1, 0] });
      expect(geometry.planePosition).toEqual({ ImagePositionPatient: [0, 0, 0] });
    },
  );

  test("scales the source's spacing by the grid reduction, and says 1 mm when the source gives none", () => {
    expect(planeGeometry({ ...image, pixelSpacingMm: [0.143, 0.139] }, 3).pixelMeasures.PixelSpacing).toEqual([0.429, 0.417]);
    expect(planeGeometry({ ...image, pixelSpacingMm: null }, 2).pixelMeasures.PixelSpacing).toEqual([2, 2]);
  });

  test('gives each image a frame of reference of its own', () => {
    expect(planeGeometry(image, 1).frameOfReferenceUid).not.toBe(planeGeometry({ ...image, sopInstanceUid: '1.2.3.4' }, 1).frameOfReferenceUid);
  });
});

describe('aiResultUids', () => {
  test('derive from study, analysis version and image only, so a new revision of the report keeps them', () => {
    const report = draftReportFixture();
    const a = aiResultUids(report, 'segmentation', image.sopInstanceUid);
    expect(aiResultUids(draftReportFixture({ revision: 5 }), 'segmentation', image.sopInstanceUid)).toEqual(a);
    expect(aiResultUids(draftReportFixture({ analysisVersion: 2 }), 'segmentation', image.sopInstanceUid).sopInstanceUid).not.toBe(a.sopInstanceUid);
    expect(aiResultUids(report, 'parametricMap', image.sopInstanceUid).sopInstanceUid).not.toBe(a.sopInstanceUid);
    expect(aiResultUids(report, 'segmentation', '1.2.3.4').seriesInstanceUid).toBe(a.seriesInstanceUid);
  });
});
