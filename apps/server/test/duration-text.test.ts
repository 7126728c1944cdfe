import { describe, expect, it } from 'vitest';
import { durationText } from '../src/conversation/duration-text.js';

describe('durationText', () => {
  it.each([
    [200, '0.2 seconds'],
    [1_000, '1 second'],
    [45_250, '45.3 seconds'],
    [60_000, '1 minute'],
    [90_000, '90 seconds'],
    [120_000, '2 minutes'],
    [300_000, '5 minutes'],
  ])('gives %i ms as %s', (ms, text) => {
    expect(durationText(ms)).toBe(text);
  });
});
