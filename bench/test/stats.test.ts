import { describe, expect, it } from 'vitest';
import { fmt, fmtRatio, max, median, percentile, ratio, table } from '../lib/stats.ts';

describe('bench statistics', () => {
  it('takes nearest-rank percentiles and true medians', () => {
    const values = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 95)).toBe(10);
    expect(percentile(values, 0)).toBe(1);
    expect(median(values)).toBe(5.5);
    expect(median([3, 1, 2])).toBe(2);
    expect(percentile([], 50)).toBeNaN();
    expect(median([])).toBeNaN();
  });

  it('finds the max of more samples than spread arguments allow', () => {
    const many = Array.from({ length: 300_000 }, (_, i) => i % 1000);
    expect(max(many)).toBe(999);
    expect(max([])).toBeNaN();
  });

  it('gives NaN ratios for missing or zero references and formats them as "-"', () => {
    expect(ratio(10, 5)).toBe(2);
    expect(ratio(10, 0)).toBeNaN();
    expect(ratio(undefined, 5)).toBeNaN();
    expect(fmtRatio(ratio(1, 4))).toBe('0.25x');
    expect(fmtRatio(Number.NaN)).toBe('-');
    expect(fmt(Number.NaN)).toBe('-');
    expect(fmt(1234.5)).toBe('1235');
    expect(fmt(1.234, 2)).toBe('1.23');
  });

  it('pads table columns to their widest cell', () => {
    const text = table(
      ['op', 'req/s'],
      [
        ['GetDeployment', '12'],
        ['X', '1234'],
      ],
    );
    expect(text.split('\n')).toEqual([
      'op             req/s',
      '-------------  -----',
      'GetDeployment     12',
      'X               1234',
    ]);
  });
});
