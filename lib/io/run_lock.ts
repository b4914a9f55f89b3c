/**
 * One training per run folder. While {@linkcode train} runs on a folder it holds the folder's
 * lock, `train.lock`: a small JSON file ({@linkcode LockHolder}: pid, host, since when) created
 * atomically (`Deno.open` with `createNew`), so a second training on the same folder — another
 * process, or a second `train()` in the same process or Jupyter kernel — fails at once, naming
 * the holder, instead of both writing checkpoints and the last writer silently winning.
 *
 * The lock is released on every way out of training (its end, an error, a stop on SIGINT or an
 * AbortSignal). A process killed outright (SIGKILL, a crash, a restarted kernel) leaves the file
 * behind; the next training takes such a stale lock over, with a message.
 *
 * How "stale" is told: the holder keeps the file open with an exclusive advisory lock of the
 * operating system on it (`FsFile.tryLock(true)`, flock on Linux and macOS) for the training's
 * lifetime, and the kernel drops that lock when the process ends, however it ends. A lock file
 * whose advisory lock is free has no live holder. This needs no permission beyond the run
 * folder, and a reused pid cannot fool it — unlike probing the pid, which Deno allows only with
 * `--allow-all` (`/proc`) or `--allow-run` (`Deno.kill`). The pid and host in the file are for
 * people. A lock file taken on another host is never taken over (whether its holder runs cannot
 * be known here, as advisory locks may not cross network filesystems): the error says to
 * remove the file once no training runs there. Permissions: read and write in the run folder,
 * `--allow-sys=hostname` (without it the host is recorded as `unknown`).
 *
 * @module
 */

/** The lock file in a run folder. */
export const LOCK_FILE = "train.lock";

/**
 * A run folder cannot be used as asked: it is locked by another training, is not a writable
 * folder, has too little free space, or holds a checkpoint that does not fit the request or
 * does not load. The message names the folder (or the file) and says what to do; a command
 * prints it without a stack trace.
 */
export class RunFolderError extends Error {
  /**
   * The error, with its message.
   *
   * @param message what is wrong, naming the folder or file
   * @param options the underlying error, if any
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RunFolderError";
  }
}

/** Who holds a run folder's lock, as its lock file says. */
export interface LockHolder {
  /** The holder's process id. */
  pid: number;
  /** The host it runs on. */
  host: string;
  /** When it took the lock (ISO 8601). */
  since: string;
  /** Unique per lock taken, so a holder removes only its own lock file. */
  token: string;
}

/** Raised when another training holds the run folder's lock. */
export class RunLockedError extends RunFolderError {
  /**
   * The error, naming the holder.
   *
   * @param out the run folder
   * @param path its lock file
   * @param holder who holds it (null: the file cannot be read as a lock)
   * @param note why it is not taken over, when that is not plain (another host)
   */
  constructor(
    readonly out: string,
    readonly path: string,
    readonly holder: LockHolder | null,
    note = "",
  ) {
    super(
      holder
        ? `${out}: another training is running in this folder: pid ${holder.pid} on host ` +
          `${holder.host}${holder.pid === Deno.pid ? " (this process)" : ""}, since ` +
          `${holder.since} (lock ${path})${note ? `; ${note}` : ""}. Wait for it to end, ` +
          "or choose another --out"
        : `${out}: its lock ${path} is held but cannot be read${note ? ` (${note})` : ""}; ` +
          "wait for the training in it to end, or choose another --out",
    );
    this.name = "RunLockedError";
  }
}

/** A lock this process holds. */
export interface RunLock {
  /** The lock file. */
  readonly path: string;
  /** What it says. */
  readonly holder: LockHolder;
  /** Removes the lock file (if it is still this lock) and drops the OS lock; never throws. */
  release(): Promise<void>;
}

/** This host's name; `"unknown"` when it cannot be read. */
export function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}

/** An error's message. */
function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Parses a lock file's text; null when it is not a lock. */
function parseHolder(text: string): LockHolder | null {
  try {
    const value = JSON.parse(text);
    if (
      value !== null && typeof value === "object" && Number.isInteger(value.pid) &&
      typeof value.host === "string" && typeof value.since === "string" &&
      typeof value.token === "string"
    ) {
      return value as LockHolder;
    }
  } catch {
    // not JSON (yet)
  }
  return null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long a lock file may stay empty while its creator writes it. */
const WRITE_GRACE_MS = 1000;

/** What an existing lock file is: held by a live training, stale, or gone meanwhile. */
type Inspection =
  | { state: "held"; holder: LockHolder | null }
  | { state: "stale"; holder: LockHolder | null; text: string; file: Deno.FsFile }
  | { state: "gone" };

/**
 * Looks at an existing lock file: its advisory lock taken by a live holder means "held"; free,
 * it is "stale" (returned with the advisory lock now held by the caller, who must close `file`).
 * A file just created is empty until its creator has locked and written it: an empty file is
 * looked at again for up to {@linkcode WRITE_GRACE_MS}.
 */
async function inspect(path: string): Promise<Inspection> {
  const deadline = Date.now() + WRITE_GRACE_MS;
  while (true) {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return { state: "gone" };
      throw new RunFolderError(`${path}: cannot read the run folder's lock (${message(error)})`, {
        cause: error,
      });
    }
    let keep = false;
    let again = false;
    try {
      const free = await file.tryLock(true);
      const text = await Deno.readTextFile(path).catch(() => "");
      const holder = parseHolder(text);
      if (holder === null && Date.now() < deadline) {
        again = true; // being written: look again
      } else if (!free) {
        return { state: "held", holder };
      } else {
        keep = true;
        return { state: "stale", holder, text, file };
      }
    } finally {
      if (!keep) file.close();
    }
    if (again) await sleep(20);
  }
}

/**
 * Who holds a run folder's lock now, or null when nobody does (no lock file, or a stale one that
 * the next training takes over). For a check before expensive preparations; the lock itself is
 * taken by {@linkcode acquireRunLock}.
 *
 * @param out the run folder
 * @throws {RunLockedError} when a held lock cannot be read, or a stale one is another host's
 */
export async function runLockHolder(out: string): Promise<LockHolder | null> {
  const path = `${out}/${LOCK_FILE}`;
  const seen = await inspect(path);
  if (seen.state === "gone") return null;
  if (seen.state === "held") {
    if (seen.holder === null) throw new RunLockedError(out, path, null);
    return seen.holder;
  }
  seen.file.close();
  checkSameHost(out, path, seen.holder);
  return null;
}

/** Refuses to take over a lock file written on another host. */
function checkSameHost(out: string, path: string, holder: LockHolder | null): void {
  const host = hostName();
  if (holder !== null && holder.host !== host) {
    throw new RunLockedError(
      out,
      path,
      holder,
      `it was taken on host ${holder.host}, this is ${host}: whether it still runs cannot be ` +
        "checked here; if no training runs there, remove the lock file",
    );
  }
}

/**
 * Moves a stale lock file out of the way, unless it changed since it was read (then another
 * training replaced it first: its lock file is put back).
 *
 * @returns whether the stale lock file was removed
 */
async function removeStale(path: string, staleText: string): Promise<boolean> {
  const aside = `${path}.stale-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.rename(path, aside);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
  const moved = await Deno.readTextFile(aside).catch(() => null);
  if (moved !== staleText) {
    await Deno.link(aside, path).catch(() => {});
    await Deno.remove(aside).catch(() => {});
    return false;
  }
  await Deno.remove(aside);
  return true;
}

/**
 * Creates the lock file, takes its advisory lock and writes the holder into it.
 *
 * @returns the open, locked file, or null when the file exists already
 */
async function create(out: string, path: string, holder: LockHolder): Promise<Deno.FsFile | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { createNew: true, read: true, write: true });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return null;
    throw new RunFolderError(`${out}: cannot write in the run folder (${message(error)})`, {
      cause: error,
    });
  }
  try {
    // Another training looking at the new, still empty file may hold its advisory lock for a
    // moment; it lets go when it sees the file empty.
    const deadline = Date.now() + WRITE_GRACE_MS;
    while (!(await file.tryLock(true))) {
      if (Date.now() > deadline) throw new Error("its advisory lock stayed taken");
      await sleep(10);
    }
    await file.write(new TextEncoder().encode(JSON.stringify(holder)));
    return file;
  } catch (error) {
    await Deno.remove(path).catch(() => {});
    file.close();
    throw new RunFolderError(`${out}: cannot take the run folder's lock (${message(error)})`, {
      cause: error,
    });
  }
}

/**
 * Takes a run folder's lock for a training: creates `out/train.lock` atomically and holds an
 * advisory lock on it until released, taking over a stale one (no live holder) with a message.
 *
 * @param out the run folder (it must exist)
 * @param notify where the message about a stale lock goes
 * @returns the lock; call `release()` when training ends, however it ends
 * @throws {RunLockedError} naming the holder when another training holds it
 * @throws {RunFolderError} when the lock cannot be written (a read-only folder)
 */
export async function acquireRunLock(
  out: string,
  notify: (message: string) => void = () => {},
): Promise<RunLock> {
  const path = `${out}/${LOCK_FILE}`;
  for (let attempt = 0; attempt < 10; attempt++) {
    const holder: LockHolder = {
      pid: Deno.pid,
      host: hostName(),
      since: new Date().toISOString(),
      token: crypto.randomUUID(),
    };
    const file = await create(out, path, holder);
    if (file === null) {
      const seen = await inspect(path);
      if (seen.state === "held") throw new RunLockedError(out, path, seen.holder);
      if (seen.state === "stale") {
        try {
          checkSameHost(out, path, seen.holder);
          if (await removeStale(path, seen.text)) {
            const who = seen.holder
              ? `pid ${seen.holder.pid} on ${seen.holder.host} (since ${seen.holder.since})`
              : "an unfinished lock file";
            notify(
              `${out}: taking over a stale lock: ${who} is no longer running (no process ` +
                "holds it)\n",
            );
          }
        } finally {
          seen.file.close();
        }
      }
      continue;
    }
    return {
      path,
      holder,
      async release() {
        try {
          const current = parseHolder(await Deno.readTextFile(path));
          if (current?.token === holder.token) await Deno.remove(path);
        } catch {
          // Gone already, or the folder is unreadable: nothing of ours to remove.
        }
        try {
          file.close(); // drops the advisory lock
        } catch {
          // closed already
        }
      },
    };
  }
  throw new RunFolderError(`${path}: the lock kept changing while it was taken; try again`);
}
