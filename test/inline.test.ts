/** CSS inlining with juice (synchronous, no I/O) and the scans for stylesheet imports and remote images. */
import juice from 'juice';
import { describe, expect, it } from 'vitest';
import { findRemoteImages, findStylesheetImports, inlineCss } from '../src/templates/inline.js';

describe('inlineCss', () => {
  it('moves rules into style attributes and removes the <style> blocks', () => {
    const out = inlineCss('<style>p { color: red }</style><p class="a">x</p>', '.a { margin: 0 }');
    expect(out).toBe('<p class="a" style="color: red; margin: 0;">x</p>');
  });

  it('keeps only media queries in a <style> block; font-face, keyframes and :hover are dropped', () => {
    const css = '@font-face { font-family: F; src: url(f.woff) } @keyframes k { from { opacity: 0 } } a:hover { color: red }';
    const out = inlineCss(`<style>${css} @media print { p { color: black } }</style><p>x</p>`, '');
    expect(out).not.toMatch(/font-face|keyframes|hover/);
    const blocks = [...out.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!.trim());
    expect(blocks).toHaveLength(1);
    expect(blocks[0]).toMatch(/^@media print \{[\s\S]*\}$/);
  });

  it('leaves no <style> block when there are no media queries', () => {
    expect(inlineCss('<html><head><style>p{color:red}</style></head><body><p>x</p></body></html>', 'p{margin:0}')).not.toContain(
      '<style',
    );
  });

  it('applies the given css first, so the document <style> wins at equal specificity', () => {
    const out = inlineCss('<html><head><style>p { color: blue }</style></head><body><p>x</p></body></html>', 'p { color: red; margin: 0 }');
    expect(out).toContain('<p style="margin: 0; color: blue;">x</p>');
  });

  it('keeps a fragment a fragment and does not wrap it in <html><body>', () => {
    expect(inlineCss('<p>a</p><p>b</p>', 'p{color:red}')).toBe('<p style="color: red;">a</p><p style="color: red;">b</p>');
    expect(inlineCss('just text', '')).toBe('just text');
  });

  it('keeps a full document as it is, doctype included', () => {
    const doc = '<!DOCTYPE html>\n<html lang="en"><head><title>T</title></head><body><p>x</p></body></html>';
    expect(inlineCss(doc, '')).toBe(doc);
  });

  it('keeps escaped entities escaped: a value can never become a tag', () => {
    const html = '<p class="a" title="&quot;&#x27;&lt;">&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; &#x27;s &nbsp;&copy;</p>';
    const out = inlineCss(html, '.a { color: red }');
    expect(out).toBe(html.replace('">&lt;script', '" style="color: red;">&lt;script'));
    expect(out).not.toContain('<script');
  });

  it('does not treat {{ }} or juice code-block markers in the text specially', () => {
    const out = inlineCss('<p>{{ a </p><p class="a">b }}</p><p>JUICE_CODE_BLOCK_0_</p>', '.a { color: red }');
    expect(out).toBe('<p>{{ a </p><p class="a" style="color: red;">b }}</p><p>JUICE_CODE_BLOCK_0_</p>');
    expect(Object.keys(juice.codeBlocks).sort()).toEqual(['EJS', 'HBS']); // restored afterwards
  });

  it('adds no width, height or bgcolor attributes', () => {
    const out = inlineCss('<table><tr><td>x</td></tr></table><img src="a.png">', 'td, img { width: 10px; background-color: #fff }');
    expect(out).not.toMatch(/ width=| bgcolor=/);
  });

  it('refuses css that would close its <style> block', () => {
    expect(() => inlineCss('<p>x</p>', 'p{color:red}</style><script>')).toThrow('</style');
  });
});

describe('findStylesheetImports', () => {
  it('finds <link rel=stylesheet> in any spelling and @import, with line numbers', () => {
    const src = [
      '<head>',
      '<link rel="stylesheet" href="https://cdn.example.com/a.css">',
      "<LINK href='b.css' REL='alternate stylesheet'>",
      '<link rel=stylesheet href=c.css>',
      '<link rel="icon" href="favicon.ico">',
      '<style>@import url("https://fonts.example.com/x.css");</style>',
      '</head>',
    ].join('\n');
    expect(findStylesheetImports(src)).toEqual([
      { line: 2, what: '<link rel="stylesheet" href="https://cdn.example.com/a.css">' },
      { line: 3, what: "<LINK href='b.css' REL='alternate stylesheet'>" },
      { line: 4, what: '<link rel=stylesheet href=c.css>' },
      { line: 6, what: '@import url("https://fonts.example.com/x.css");' },
    ]);
  });

  it('finds a local @import in a css file', () => {
    expect(findStylesheetImports('p{}\n\n@import "local.css";')).toEqual([{ line: 3, what: '@import "local.css";' }]);
  });

  it('finds nothing in plain HTML and CSS', () => {
    expect(findStylesheetImports('<style>p{color:red}</style><a href="x.css">styles</a>')).toEqual([]);
  });
});

describe('findRemoteImages', () => {
  it('finds http(s) and protocol-relative <img src>, srcset and css url()', () => {
    const html = [
      '<img src="https://example.com/a.png">',
      "<img alt='x' src='http://example.com/b.png'>",
      '<img src=//cdn.example.com/c.png>',
      '<img src="local.png" srcset="https://example.com/d.png 2x, e.png 3x">',
      '<div style="background: url(https://example.com/f.png)"></div>',
      '<style>.x { background-image: url("//example.com/g.png") }</style>',
    ].join('\n');
    expect(findRemoteImages(html)).toEqual([
      'https://example.com/a.png',
      'http://example.com/b.png',
      '//cdn.example.com/c.png',
      'https://example.com/d.png',
      'https://example.com/f.png',
      '//example.com/g.png',
    ]);
  });

  it('ignores data: URIs, relative paths and links that are not images', () => {
    const html = '<img src="data:image/png;base64,AAAA"><img src="images/a.png"><a href="https://example.com">x</a> url(images/b.png)';
    expect(findRemoteImages(html)).toEqual([]);
  });

  it('lists each url once', () => {
    expect(findRemoteImages('<img src="https://e.com/a.png"><img src="https://e.com/a.png">')).toEqual(['https://e.com/a.png']);
  });
});
