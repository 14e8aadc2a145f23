/**
 * Groups writes that arrive close together into one transaction: one WAL commit (and one
 * replicated segment) per batch instead of one per request. Each write still gets its own
 * result or error: it runs in a savepoint inside the batch, so one bad write can't undo the
 * others.
 */
export function createWriteBatcher(db, { maxBatch = 200, maxDelayMs = 2 } = {}) {
  let queue = [];
  let timer = null;

  const runBatch = db.transaction((jobs) => {
    for (const job of jobs) {
      try {
        job.result = db.transaction(job.write)(db);
      } catch (err) {
        job.error = err;
      }
    }
  });

  function flush() {
    if (timer) clearTimeout(timer);
    timer = null;
    const jobs = queue;
    queue = [];
    if (jobs.length === 0) return;
    try {
      runBatch(jobs);
    } catch (err) {
      for (const job of jobs) job.error ??= err; // the commit itself failed: nothing was written
    }
    for (const job of jobs) (job.error ? job.reject(job.error) : job.resolve(job.result));
  }

  return {
    /** Queues `write(db)`; resolves with its return value once its batch has committed. */
    write(write) {
      return new Promise((resolve, reject) => {
        queue.push({ write, resolve, reject });
        if (queue.length >= maxBatch) flush();
        else timer ??= setTimeout(flush, maxDelayMs);
      });
    },
    /** Commits whatever is queued (call before closing the database). */
    flush,
  };
}
