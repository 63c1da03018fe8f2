import { setTimeout as sleep } from 'node:timers/promises';
import { currentRequestId, runWithRequestContext } from '../src';

describe('request context', () => {
  test('has no request id outside a request', () => {
    expect(currentRequestId()).toBeUndefined();
  });

  test('keeps the request id across awaits, and returns what the function returns', async () => {
    const result = await runWithRequestContext({ requestId: 'req-1' }, async () => {
      await sleep(1);
      return currentRequestId();
    });
    expect(result).toBe('req-1');
    expect(currentRequestId()).toBeUndefined();
  });

  test('keeps concurrent requests apart', async () => {
    const seen = await Promise.all(
      ['a', 'b', 'c'].map((requestId, i) =>
        runWithRequestContext({ requestId }, async () => {
          // Finish in reverse order so the requests interleave.
          await sleep(10 - i * 3);
          return currentRequestId();
        }),
      ),
    );
    expect(seen).toEqual(['a', 'b', 'c']);
  });
});
