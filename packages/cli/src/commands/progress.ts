import { SingleBar } from "cli-progress";

export interface ProgressReporter {
  update(progress: { done: number; total: number }): void;
  stop(): void;
}

/**
 * Progress on a terminal: a bar; otherwise (logs, CI): a plain line every 10 %. `format` shows done/total, e.g.
 * (d, t) => `${d}/${t} records`.
 */
export function progressReporter(
  stream: NodeJS.WriteStream,
  label: string,
  format: (done: number, total: number) => string,
): ProgressReporter {
  if (stream.isTTY === true) {
    const bar = new SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {amount} | {duration_formatted}`,
        stream,
      },
      undefined,
    );
    let started = false;
    return {
      update: ({ done, total }) => {
        const payload = { amount: format(done, total) };
        if (!started) {
          bar.start(total, done, payload);
          started = true;
        } else {
          bar.setTotal(total);
          bar.update(done, payload);
        }
      },
      stop: () => bar.stop(),
    };
  }
  let lastDecile = -1;
  return {
    update: ({ done, total }) => {
      const decile = total === 0 ? 10 : Math.floor((done / total) * 10);
      if (decile !== lastDecile) {
        lastDecile = decile;
        stream.write(`${label}: ${format(done, total)} (${Math.min(100, decile * 10)}%)\n`);
      }
    },
    stop: () => undefined,
  };
}
