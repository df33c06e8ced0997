// Parts of a submitted file are cut where no UTF-8 character is split, so each part travels as text.
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { test } from 'node:test';

import { utf8Boundary } from '../../services/submit/submit-document.ts';

test('utf8Boundary never cuts inside a character, and keeps complete ones', () => {
  const text = Buffer.from('aé€😀b'); // 1 + 2 + 3 + 4 + 1 bytes
  const expected = [0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 11];
  for (let n = 0; n <= text.length; n++) {
    const cut = utf8Boundary(text.subarray(0, n));
    assert.equal(cut, expected[n], `prefix of ${n} bytes`);
    assert.ok(isUtf8(text.subarray(0, cut)));
  }
  // Bytes that are not UTF-8 at all are left as they are (they travel as base64).
  assert.equal(utf8Boundary(Buffer.from([0x80, 0x80, 0x80, 0x80])), 4);
});
