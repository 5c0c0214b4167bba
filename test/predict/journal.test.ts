import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { JsonlJournal, readJournalKeys } from '../../src/predict';

describe('JsonlJournal', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmk-journal-'));

  test('appends whole lines and reads their keys back', async () => {
    const path = join(dir, 'a.jsonl');
    const j = JsonlJournal.open(path);
    j.append({ file: '/x/1.png', n: 1 });
    j.append({ file: '/x/2.png', n: 2 });
    j.sync();
    j.close();
    expect(readFileSync(path, 'utf8')).toBe('{"file":"/x/1.png","n":1}\n{"file":"/x/2.png","n":2}\n');
    expect(await readJournalKeys(path, 'file')).toEqual(new Set(['/x/1.png', '/x/2.png']));
  });

  test('a line torn by a crash is cut on reopen; appending then continues on a whole line', async () => {
    const path = join(dir, 'torn.jsonl');
    writeFileSync(path, '{"file":"/x/1.png"}\n{"file":"/x/2.p');
    // Readers already ignore the torn tail.
    expect(await readJournalKeys(path, 'file')).toEqual(new Set(['/x/1.png']));
    const j = JsonlJournal.open(path);
    j.append({ file: '/x/2.png' });
    j.close();
    expect(readFileSync(path, 'utf8')).toBe('{"file":"/x/1.png"}\n{"file":"/x/2.png"}\n');
  });

  test('a file holding only a torn line becomes empty; a whole file is left as it is', () => {
    const torn = join(dir, 'only-torn.jsonl');
    writeFileSync(torn, '{"file":"/x/1');
    JsonlJournal.open(torn).close();
    expect(readFileSync(torn, 'utf8')).toBe('');
    const whole = join(dir, 'whole.jsonl');
    writeFileSync(whole, '{"file":"a"}\n');
    JsonlJournal.open(whole).close();
    expect(readFileSync(whole, 'utf8')).toBe('{"file":"a"}\n');
  });

  test('the tail repair finds the last newline beyond its 64 KiB read window', () => {
    const path = join(dir, 'long.jsonl');
    writeFileSync(path, `{"file":"a"}\n{"file":"${'b'.repeat(200000)}`);
    JsonlJournal.open(path).close();
    expect(readFileSync(path, 'utf8')).toBe('{"file":"a"}\n');
  });

  test('readJournalKeys: a missing file has no keys; lines without the key or with a non-string are skipped', async () => {
    expect(await readJournalKeys(join(dir, 'absent.jsonl'), 'file')).toEqual(new Set());
    const path = join(dir, 'mixed.jsonl');
    writeFileSync(path, '{"file":"a"}\n\n{"other":"b"}\n{"file":3}\n');
    appendFileSync(path, '{"file":"c"}\n');
    expect(await readJournalKeys(path, 'file')).toEqual(new Set(['a', 'c']));
  });
});
