/** Fetches many keys in one round trip; a key that is missing from the answer resolves undefined. */
export type FetchMany<T> = (ids: readonly string[]) => Promise<ReadonlyMap<string, T>>;

interface Waiter<T> {
  readonly id: string;
  readonly resolve: (value: T | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Single lookups asked for in the same turn of the event loop, sent as one `fetchMany` (one Redis pipeline)
 * once that turn is over (setImmediate), at most `maxBatch` ids each. Under load the HTTP parser hands over
 * many requests per turn: one socket write and one reply read for all of them instead of one each, which was
 * the largest share of the API's CPU per serving lookup (bench profile). A lone request waits no timer, only
 * the end of its turn. A failed fetch rejects every lookup of it.
 */
export function coalesceLookups<T>(
  fetchMany: FetchMany<T>,
  maxBatch = 256,
): (id: string) => Promise<T | undefined> {
  let open: Waiter<T>[] | null = null;

  const send = (waiters: Waiter<T>[]): void => {
    const ids = [...new Set(waiters.map((waiter) => waiter.id))];
    fetchMany(ids).then(
      (found) => {
        for (const waiter of waiters) waiter.resolve(found.get(waiter.id));
      },
      (error: unknown) => {
        for (const waiter of waiters) waiter.reject(error);
      },
    );
  };

  return (id) =>
    new Promise<T | undefined>((resolve, reject) => {
      let waiters = open;
      if (waiters === null) {
        const batch: Waiter<T>[] = [];
        waiters = batch;
        open = batch;
        setImmediate(() => {
          if (open === batch) open = null;
          if (batch.length > 0) send(batch);
        });
      }
      waiters.push({ id, resolve, reject });
      if (waiters.length >= maxBatch) {
        // Full: sent now; the immediate scheduled for it finds it emptied.
        open = null;
        send(waiters.splice(0));
      }
    });
}
