import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRequestFraming, type FramingInput, FramingProblem } from './request-checks.js';

function req(rawHeaders: string[], version = '1.1'): FramingInput {
  const [major, minor] = version.split('.').map(Number);
  return { httpVersionMajor: major, httpVersionMinor: minor, rawHeaders };
}

test('ordinary requests pass', () => {
  assert.equal(checkRequestFraming(req(['Host', 'example.com', 'Accept', '*/*'])), null);
  assert.equal(checkRequestFraming(req(['Host', 'example.com:8080', 'Content-Length', '3'])), null);
  assert.equal(checkRequestFraming(req(['Host', '[::1]:80', 'Transfer-Encoding', 'chunked'])), null);
  assert.equal(checkRequestFraming(req(['host', 'a', 'TRANSFER-ENCODING', ' Chunked\t'])), null);
  assert.equal(checkRequestFraming(req([], '1.0')), null, 'HTTP/1.0 needs no Host');
  assert.equal(checkRequestFraming(req(['Content-Length', '0'], '1.0')), null);
});

test('versions other than HTTP/1.0 and HTTP/1.1 are refused', () => {
  for (const v of ['0.9', '2.0', '1.2', '3.0']) {
    assert.equal(checkRequestFraming(req(['Host', 'a'], v)), FramingProblem.Version, v);
  }
});

test('Transfer-Encoding must be exactly one chunked on one field line', () => {
  const bad = ['gzip, chunked', 'chunked, identity', ',chunked', 'identity', 'xchunked', 'chunked;q=1', ''];
  for (const v of bad) {
    assert.equal(
      checkRequestFraming(req(['Host', 'a', 'Transfer-Encoding', v])),
      FramingProblem.TransferEncoding,
      JSON.stringify(v),
    );
  }
  assert.equal(
    checkRequestFraming(req(['Host', 'a', 'Transfer-Encoding', '', 'transfer-encoding', 'chunked'])),
    FramingProblem.TransferEncoding,
  );
  assert.equal(
    checkRequestFraming(req(['Host', 'a', 'Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked'])),
    FramingProblem.TransferEncoding,
  );
});

test('Transfer-Encoding in HTTP/1.0 and together with Content-Length is refused', () => {
  assert.equal(
    checkRequestFraming(req(['Host', 'a', 'Transfer-Encoding', 'chunked'], '1.0')),
    FramingProblem.TransferEncodingHttp10,
  );
  assert.equal(
    checkRequestFraming(req(['Content-Length', '3', 'Transfer-Encoding', 'chunked'])),
    FramingProblem.ContentLengthWithTransferEncoding,
  );
});

test('Host: one field line, authority characters only', () => {
  assert.equal(checkRequestFraming(req(['Host', 'a', 'host', 'b'])), FramingProblem.DuplicateHost);
  assert.equal(checkRequestFraming(req(['Host', 'a', 'HOST', 'a'])), FramingProblem.DuplicateHost);
  for (const h of ['a b', 'user@a', 'a/b', 'a\\b', 'caf\u00e9', 'a"b', 'a?b', 'a#b', 'a<b']) {
    assert.equal(checkRequestFraming(req(['Host', h])), FramingProblem.InvalidHost, h);
  }
  assert.equal(checkRequestFraming(req(['Host', 'xn--caf-dma.example:443'])), null);
  assert.equal(checkRequestFraming(req(['Accept', '*/*'])), FramingProblem.MissingHost);
  assert.equal(checkRequestFraming(req(['Host', ''])), null);
});

test('names merely similar in length are not mistaken for framing headers', () => {
  assert.equal(checkRequestFraming(req(['Host', 'a', 'hosx', 'b', 'transfer-encodinx', 'gzip'])), null);
  assert.equal(
    checkRequestFraming(req(['Host', 'a', 'content-lengtx', '1', 'Transfer-Encoding', 'chunked'])),
    null,
  );
});
