import { describe, expect, it } from 'vitest';
import { normalizeOrigin, originMatches, parseHostname } from '../src/index.js';

describe('parseHostname', () => {
  it.each([
    ['https://app.example.com', 'https://app.example.com'],
    ['HTTPS://App.Example.COM', 'https://app.example.com'],
    ['https://app.example.com:443', 'https://app.example.com'],
    ['http://localhost:80', 'http://localhost'],
    ['http://localhost:5173', 'http://localhost:5173'],
    ['https://bücher.example', 'https://xn--bcher-kva.example'],
    ['http://[::1]:8080', 'http://[::1]:8080'],
  ])('accepts %s as %s', (input, origin) => {
    expect(parseHostname(input)).toEqual({ ok: true, value: origin });
  });

  it.each([
    ['app.example.com', /full URL/],
    ['ftp://app.example.com', /http or https/],
    ['https://app.example.com/', /trailing slash/],
    ['https://app.example.com/chat', /path/],
    ['https://app.example.com?x=1', /query/],
    ['https://app.example.com#top', /fragment/],
    ['https://user:pw@app.example.com', /credentials/],
    ['https://app.example.com\\', /trailing slash/],
    ['https://app.example.com/.', /scheme:\/\/host/],
    ['https://app.example.com/%2e', /scheme:\/\/host/],
    ['https:app.example.com', /scheme:\/\/host/],
    [' https://app.example.com ', /scheme:\/\/host/],
    ['https://app.example.com\t', /scheme:\/\/host/],
    ['http://127.1', /scheme:\/\/host/],
    ['http://localhost:0', /port 0/],
  ])('refuses %s', (input, message) => {
    const parsed = parseHostname(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });
});

describe('origin matching', () => {
  it('compares scheme, host and port after normalisation', () => {
    expect(originMatches('https://app.example.com', 'https://APP.example.com:443')).toBe(true);
    expect(originMatches('http://localhost:5173', 'http://localhost:5173')).toBe(true);
    expect(originMatches('https://app.example.com', 'http://app.example.com')).toBe(false);
    expect(originMatches('https://app.example.com', 'https://app.example.com:8443')).toBe(false);
    expect(originMatches('https://app.example.com', 'https://evil.app.example.com')).toBe(false);
    expect(originMatches('https://app.example.com', undefined)).toBe(false);
    expect(originMatches('https://app.example.com', 'null')).toBe(false);
  });

  it('normalises request origins, and refuses what is not one', () => {
    expect(normalizeOrigin('http://LOCALHOST:80')).toBe('http://localhost');
    expect(normalizeOrigin('null')).toBeNull();
    expect(normalizeOrigin('')).toBeNull();
    expect(normalizeOrigin('not a url')).toBeNull();
    expect(normalizeOrigin('file:///etc/passwd')).toBeNull();
  });
});
