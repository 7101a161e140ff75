export interface WriteCoalescerOptions<T, R> {
  /** Largest total size of one group; a single item larger than this still forms a group alone. */
  readonly maxGroupSize: number;
  /** Groups written at the same time. Default 1. */
  readonly maxConcurrentWrites?: number;
  readonly sizeOf: (item: T) => number;
  /** Writes one group; returns one result per item, in the order given. */
  readonly write: (items: T[]) => Promise<R[]>;
}

interface Pending<T, R> {
  readonly item: T;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit: items submitted while every writer is busy, or in the same event-loop turn, are queued, and a
 * free writer takes everything queued (in submission order, up to maxGroupSize) as ONE write. Callers that each
 * await their item before submitting the next keep their own order.
 */
export class WriteCoalescer<T, R> {
  private readonly options: WriteCoalescerOptions<T, R>;
  private readonly queue: Pending<T, R>[] = [];
  private writing = 0;
  private scheduled = false;

  constructor(options: WriteCoalescerOptions<T, R>) {
    this.options = options;
  }

  /** Items waiting for a writer. */
  get queued(): number {
    return this.queue.length;
  }

  /** Writes in flight. */
  get inFlight(): number {
    return this.writing;
  }

  /** Settles with the item's result once the group holding it has been written (rejects when the write threw). */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Starts writers on the next turn of the event loop: the other partitions' batches of a fetch (handed out in
   * the same turn) and the next chunks of callers just resolved (submitted in microtasks) join the group first.
   */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    const maxWrites = Math.max(1, this.options.maxConcurrentWrites ?? 1);
    while (this.writing < maxWrites && this.queue.length > 0) {
      const group = this.takeGroup();
      this.writing += 1;
      this.run(group);
    }
  }

  private takeGroup(): Pending<T, R>[] {
    const group = [this.queue.shift() as Pending<T, R>];
    let size = this.options.sizeOf(group[0]!.item);
    while (this.queue.length > 0) {
      const next = this.options.sizeOf(this.queue[0]!.item);
      if (size + next > this.options.maxGroupSize) break;
      size += next;
      group.push(this.queue.shift() as Pending<T, R>);
    }
    return group;
  }

  private run(group: Pending<T, R>[]): void {
    let written: Promise<R[]>;
    try {
      written = this.options.write(group.map((p) => p.item));
    } catch (error) {
      written = Promise.reject(error);
    }
    written
      .then(
        (results) => {
          for (const [i, p] of group.entries()) p.resolve(results[i] as R);
        },
        (error: unknown) => {
          for (const p of group) p.reject(error);
        },
      )
      .finally(() => {
        this.writing -= 1;
        if (this.queue.length > 0) this.schedule();
      });
  }
}
