/**
 * A Deno Jupyter kernel (`deno jupyter --kernel --conn <file>`) started as a child process,
 * and a ZeroMQ client for its shell, control and IOPub channels.
 *
 * @module
 */

import * as zmq from "zeromq";
import { type JupyterMessage, MessageCodec } from "./wire.ts";

/** Options for {@link DenoKernel.start}. */
export interface KernelStartOptions {
  /**
   * Working directory of the kernel: relative imports in cells resolve from here, and the
   * kernel's import map is that of the deno.json found from here upwards.
   */
  cwd: string;
  /** Extra environment variables for the kernel (added to this process's environment). */
  env?: Record<string, string>;
  /** Deno executable (default: the one running this code). */
  denoPath?: string;
  /** How long to wait for the kernel to answer `kernel_info_request` (default 60 s). */
  startupTimeoutMs?: number;
  /** Sink for the kernel process's own stdout/stderr lines (default: dropped, kept for errors). */
  onProcessOutput?: (line: string) => void;
}

/** The channels a request can be sent on. */
export type RequestChannel = "shell" | "control";

/** Listener for every IOPub message of the kernel. */
export type IopubListener = (message: JupyterMessage) => void;

/** Contents of a Jupyter connection file. */
interface ConnectionInfo {
  ip: string;
  transport: "tcp";
  signature_scheme: "hmac-sha256";
  key: string;
  kernel_name: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
}

/** Resolvers of a request waiting for its reply. */
interface PendingReply {
  resolve: (message: JupyterMessage) => void;
  reject: (error: Error) => void;
}

/** Picks `count` distinct free TCP ports on 127.0.0.1 by binding to port 0. */
function pickFreePorts(count: number): number[] {
  const listeners = Array.from(
    { length: count },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const listener of listeners) listener.close();
  return ports;
}

/** Reads a process stream line by line, handing each line to `onLine`. */
async function pumpLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  }
  if (buffered !== "") onLine(buffered);
}

/**
 * Sockets are used strictly non-blocking (`receiveTimeout` and `sendTimeout` 0) and polled
 * from JavaScript, so zeromq never starts the libuv poll or timer handles of a socket.
 *
 * Why: a blocking `receive()` (the `for await (const frames of socket)` idiom) starts the
 * socket's libuv poll handle (and with a `receiveTimeout`, a libuv timer). `close()` tears
 * these handles down and frees them in their `uv_close` callbacks, but Deno's libuv
 * emulation for N-API addons can still dispatch a poll/timer callback for such a handle
 * afterwards, which then dereferences freed memory: SIGSEGV in
 * `zmq::Poller<zmq::Socket::Poller>::Callback` (or the `PollReadable` timer lambda). A
 * receive left pending instead crashes `deno test` when it tears its runtime down.
 */
const DEALER_OPTIONS = { linger: 0, receiveTimeout: 0, sendTimeout: 0 };
/** Options of the IOPub subscriber (it cannot send); see {@link DEALER_OPTIONS}. */
const SUBSCRIBER_OPTIONS = { linger: 0, receiveTimeout: 0 };

/** Longest pause between two polls of an idle kernel's sockets (ms). */
const MAX_POLL_INTERVAL_MS = 8;

/** How long `send` retries while a socket cannot take a message (ms). */
const SEND_TIMEOUT_MS = 10_000;

/** Whether a zeromq error means "not now" (nothing to receive, or cannot send yet). */
function isAgain(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "EAGAIN";
}

/** Returns a promise that resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A running Deno Jupyter kernel and the client connected to it. */
export class DenoKernel {
  readonly #process: Deno.ChildProcess;
  readonly #connectionDir: string;
  readonly #codec: MessageCodec;
  readonly #shell: zmq.Dealer;
  readonly #control: zmq.Dealer;
  readonly #iopub: zmq.Subscriber;
  readonly #pending = new Map<string, PendingReply>();
  readonly #iopubListeners = new Set<IopubListener>();
  readonly #processTail: string[] = [];
  #exited = false;
  /** Set on shutdown: the polling loop ends at its next turn. */
  #stopPolling = false;
  /** The loop polling the sockets; they are closed only after it has ended. */
  readonly #polling: Promise<void>;
  #shutdownDone: Promise<void> | undefined;
  /** Resolves with the exit status once the kernel process has ended. */
  readonly exited: Promise<Deno.CommandStatus>;

  private constructor(
    process: Deno.ChildProcess,
    connectionDir: string,
    connection: ConnectionInfo,
    onProcessOutput: (line: string) => void,
  ) {
    this.#process = process;
    this.#connectionDir = connectionDir;
    this.#codec = new MessageCodec(connection.key);
    const endpoint = (port: number) => `tcp://${connection.ip}:${port}`;
    this.#shell = new zmq.Dealer(DEALER_OPTIONS);
    this.#control = new zmq.Dealer(DEALER_OPTIONS);
    this.#iopub = new zmq.Subscriber(SUBSCRIBER_OPTIONS);
    this.#shell.connect(endpoint(connection.shell_port));
    this.#control.connect(endpoint(connection.control_port));
    this.#iopub.connect(endpoint(connection.iopub_port));
    this.#iopub.subscribe();
    const keepLine = (line: string) => {
      this.#processTail.push(line);
      if (this.#processTail.length > 50) this.#processTail.shift();
      onProcessOutput(line);
    };
    pumpLines(process.stdout, keepLine).catch(() => {});
    pumpLines(process.stderr, keepLine).catch(() => {});
    this.exited = process.status.then((status) => {
      this.#exited = true;
      this.#rejectPending(new Error(`Deno kernel exited with code ${status.code}`));
      return status;
    });
    this.#polling = this.#poll();
  }

  /**
   * Starts `deno jupyter --kernel` with a fresh connection file and waits until both its
   * shell and IOPub channels answer (the kernel ignores requests sent before it listens, and
   * IOPub drops messages published before the subscription is live, so it retries).
   */
  static async start(options: KernelStartOptions): Promise<DenoKernel> {
    const {
      cwd,
      env = {},
      denoPath = Deno.execPath(),
      startupTimeoutMs = 60_000,
      onProcessOutput = () => {},
    } = options;
    const [shell, iopub, stdin, control, hb] = pickFreePorts(5);
    const connection: ConnectionInfo = {
      ip: "127.0.0.1",
      transport: "tcp",
      signature_scheme: "hmac-sha256",
      key: crypto.randomUUID(),
      kernel_name: "deno",
      shell_port: shell,
      iopub_port: iopub,
      stdin_port: stdin,
      control_port: control,
      hb_port: hb,
    };
    const connectionDir = await Deno.makeTempDir({ prefix: "nb-kernel-" });
    const connectionFile = `${connectionDir}/connection.json`;
    await Deno.writeTextFile(connectionFile, JSON.stringify(connection, null, 1));
    const process = new Deno.Command(denoPath, {
      args: ["jupyter", "--kernel", "--conn", connectionFile],
      cwd,
      env: { NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let kernel: DenoKernel;
    try {
      kernel = new DenoKernel(process, connectionDir, connection, onProcessOutput);
    } catch (error) {
      // no client to shut it down with: do not leave the kernel process running
      process.kill("SIGKILL");
      await process.status;
      await Deno.remove(connectionDir, { recursive: true }).catch(() => {});
      throw error;
    }
    try {
      await kernel.#waitUntilReady(startupTimeoutMs);
    } catch (error) {
      await kernel.shutdown();
      throw error;
    }
    return kernel;
  }

  /** Last lines the kernel process printed on its own stdout/stderr. */
  get processOutputTail(): string[] {
    return [...this.#processTail];
  }

  /** Whether the kernel process has exited. */
  get hasExited(): boolean {
    return this.#exited;
  }

  /**
   * Process id of the kernel: the `deno jupyter --kernel` process, which also runs the cells
   * (a cell's `Deno.pid` is this id).
   */
  get pid(): number {
    return this.#process.pid;
  }

  /**
   * Interrupts the running cell as Jupyter's Interrupt does for the Deno kernelspec
   * (`interrupt_mode: "signal"`): sends SIGINT to the kernel process. Unless a cell listens
   * for SIGINT (`Deno.addSignalListener`, as `train` does while it runs), this ends the kernel
   * and its state, as in Jupyter.
   * @throws Error when the kernel has already exited
   */
  interrupt(): void {
    if (this.#exited) throw new Error("Deno kernel is not running");
    this.#process.kill("SIGINT");
  }

  /** Registers a listener for IOPub messages; returns a function that removes it. */
  onIopub(listener: IopubListener): () => void {
    this.#iopubListeners.add(listener);
    return () => this.#iopubListeners.delete(listener);
  }

  /**
   * Sends a request and returns its message id plus a promise of its reply (rejected when
   * the kernel exits first).
   */
  async send(
    channel: RequestChannel,
    msgType: string,
    content: object,
  ): Promise<{ msgId: string; reply: Promise<JupyterMessage> }> {
    if (this.#exited) throw new Error("Deno kernel is not running");
    const message = this.#codec.build(msgType, content);
    const msgId = message.header.msg_id;
    const reply = new Promise<JupyterMessage>((resolve, reject) => {
      this.#pending.set(msgId, { resolve, reject });
    });
    reply.catch(() => {}); // callers may never await a reply (e.g. retried kernel_info)
    const socket = channel === "shell" ? this.#shell : this.#control;
    const frames = this.#codec.encode(message);
    const deadline = Date.now() + SEND_TIMEOUT_MS;
    while (true) {
      try {
        await socket.send(frames);
        break;
      } catch (error) {
        if (!isAgain(error) || Date.now() > deadline) {
          this.#pending.delete(msgId);
          throw error;
        }
        await sleep(5);
      }
    }
    return { msgId, reply };
  }

  /**
   * Shuts the kernel down: `shutdown_request` on control, waits up to `graceMs` for the
   * process to exit, then kills it; closes the sockets and removes the connection file.
   */
  shutdown(graceMs = 3_000): Promise<void> {
    this.#shutdownDone ??= this.#shutdown(graceMs);
    return this.#shutdownDone;
  }

  async #shutdown(graceMs: number): Promise<void> {
    if (!this.#exited) {
      try {
        const { reply } = await this.send("control", "shutdown_request", { restart: false });
        await Promise.race([reply, sleep(graceMs)]);
      } catch {
        // the kernel may already be gone; it is killed below
      }
      await Promise.race([this.exited, sleep(graceMs)]);
    }
    if (!this.#exited) {
      try {
        this.#process.kill("SIGKILL");
      } catch {
        // already exited between the check and the kill
      }
    }
    await this.exited;
    // No receive or send is ever pending on a socket (see DEALER_OPTIONS); stop polling and
    // wait until the loop has let go of the sockets before closing them.
    this.#stopPolling = true;
    await this.#polling;
    this.#shell.close();
    this.#control.close();
    this.#iopub.close();
    this.#rejectPending(new Error("Deno kernel shut down"));
    await Deno.remove(this.#connectionDir, { recursive: true }).catch(() => {});
  }

  async #waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let iopubSeen = false;
    const stopListening = this.onIopub(() => iopubSeen = true);
    try {
      while (Date.now() < deadline) {
        if (this.#exited) {
          throw new Error(
            `Deno kernel exited during startup:\n${this.#processTail.join("\n")}`,
          );
        }
        const { reply } = await this.send("shell", "kernel_info_request", {});
        const answered = await Promise.race([reply.then(() => true), sleep(500).then(() => false)])
          .catch(() => false);
        if (answered) {
          // IOPub publishes a busy/idle pair for every request; give it a moment to arrive.
          const iopubDeadline = Date.now() + 500;
          while (!iopubSeen && Date.now() < iopubDeadline) await sleep(20);
          if (iopubSeen) return;
        }
      }
    } finally {
      stopListening();
    }
    throw new Error(
      `Deno kernel did not answer within ${timeoutMs} ms:\n${this.#processTail.join("\n")}`,
    );
  }

  /**
   * Polls the sockets until shutdown: drains every message that is ready, then sleeps,
   * backing off from 1 ms to {@link MAX_POLL_INTERVAL_MS} while nothing arrives.
   */
  async #poll(): Promise<void> {
    const channels: [zmq.Dealer | zmq.Subscriber, (message: JupyterMessage) => void][] = [
      [this.#shell, (message) => this.#resolveReply(message)],
      [this.#control, (message) => this.#resolveReply(message)],
      [this.#iopub, (message) => {
        for (const listener of this.#iopubListeners) listener(message);
      }],
    ];
    let interval = 1;
    while (!this.#stopPolling) {
      let received = 0;
      for (const [socket, onMessage] of channels) {
        for (let frames; (frames = await this.#tryReceive(socket)) !== undefined;) {
          received++;
          this.#dispatch(frames, onMessage);
        }
      }
      interval = received > 0 ? 1 : Math.min(interval * 2, MAX_POLL_INTERVAL_MS);
      await sleep(interval);
    }
  }

  /** One non-blocking receive; undefined when nothing is ready (or the socket failed). */
  async #tryReceive(socket: zmq.Dealer | zmq.Subscriber): Promise<Uint8Array[] | undefined> {
    try {
      return await socket.receive();
    } catch (error) {
      if (!isAgain(error)) console.error(`notebook kernel: receive failed: ${error}`);
      return undefined;
    }
  }

  /** Decodes a message and hands it on; undecodable messages (bad signature) are skipped. */
  #dispatch(frames: Uint8Array[], onMessage: (message: JupyterMessage) => void): void {
    let message: JupyterMessage;
    try {
      message = this.#codec.decode(frames);
    } catch {
      return;
    }
    try {
      onMessage(message);
    } catch (error) {
      console.error(`notebook kernel: message handler failed: ${error}`);
    }
  }

  #resolveReply(message: JupyterMessage): void {
    const parentId = message.parent_header.msg_id;
    const pending = parentId === undefined ? undefined : this.#pending.get(parentId);
    if (pending !== undefined && parentId !== undefined) {
      this.#pending.delete(parentId);
      pending.resolve(message);
    }
  }

  #rejectPending(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}
