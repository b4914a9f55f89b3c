/**
 * Jupyter messaging protocol (v5.3) wire format: building, signing (HMAC-SHA256),
 * serialising and parsing the multipart ZeroMQ frames of a kernel message.
 *
 * @module
 */

import { createHmac, timingSafeEqual } from "node:crypto";

/** The protocol version this client speaks. */
export const PROTOCOL_VERSION = "5.3";

/** Frame separating ZeroMQ routing identities from the message proper. */
const DELIMITER = "<IDS|MSG>";

/** Header of a Jupyter message. */
export interface MessageHeader {
  /** Unique id of this message. */
  msg_id: string;
  /** Session id of the sender. */
  session: string;
  /** User name of the sender. */
  username: string;
  /** ISO 8601 timestamp. */
  date: string;
  /** Message type, e.g. `execute_request`. */
  msg_type: string;
  /** Protocol version. */
  version: string;
}

/** A decoded Jupyter message. */
export interface JupyterMessage<C = Record<string, unknown>> {
  /** Header of this message. */
  header: MessageHeader;
  /** Header of the request this message answers (empty object when none). */
  parent_header: Partial<MessageHeader>;
  /** Free-form metadata. */
  metadata: Record<string, unknown>;
  /** Message-type specific content. */
  content: C;
  /** Extra binary buffers (rarely used). */
  buffers: Uint8Array[];
}

/** Signs and (de)serialises messages with the key of a connection file. */
export class MessageCodec {
  readonly #key: string;
  /** Session id stamped on every message built by this codec. */
  readonly session: string;

  /**
   * @param key HMAC key from the connection file (empty string disables signing).
   * @param session Session id for outgoing messages (random by default).
   */
  constructor(key: string, session: string = crypto.randomUUID()) {
    this.#key = key;
    this.session = session;
  }

  /** Builds a new message of type `msgType` with the given content. */
  build<C extends object>(
    msgType: string,
    content: C,
    parent: Partial<MessageHeader> = {},
  ): JupyterMessage<C> {
    return {
      header: {
        msg_id: crypto.randomUUID(),
        session: this.session,
        username: "bilstm-ner-runner",
        date: new Date().toISOString(),
        msg_type: msgType,
        version: PROTOCOL_VERSION,
      },
      parent_header: parent,
      metadata: {},
      content,
      buffers: [],
    };
  }

  /** HMAC-SHA256 hex signature of the four JSON parts (empty when no key). */
  sign(parts: string[]): string {
    if (this.#key === "") return "";
    const hmac = createHmac("sha256", this.#key);
    for (const part of parts) hmac.update(part);
    return hmac.digest("hex");
  }

  /** Serialises a message into ZeroMQ frames (without routing identities). */
  encode(message: JupyterMessage<object>): Array<string | Uint8Array> {
    const parts = [
      JSON.stringify(message.header),
      JSON.stringify(message.parent_header),
      JSON.stringify(message.metadata),
      JSON.stringify(message.content),
    ];
    return [DELIMITER, this.sign(parts), ...parts, ...message.buffers];
  }

  /**
   * Parses ZeroMQ frames into a message, verifying its signature.
   * @throws Error when the delimiter is missing or the signature does not match.
   */
  decode(frames: Uint8Array[]): JupyterMessage {
    const text = new TextDecoder();
    const delimiterIndex = frames.findIndex((frame) => text.decode(frame) === DELIMITER);
    if (delimiterIndex < 0) throw new Error("Jupyter message without <IDS|MSG> delimiter");
    const signature = text.decode(frames[delimiterIndex + 1]);
    const parts = frames.slice(delimiterIndex + 2, delimiterIndex + 6).map((f) => text.decode(f));
    if (parts.length !== 4) throw new Error("Jupyter message with fewer than 4 JSON parts");
    const expected = this.sign(parts);
    if (
      this.#key !== "" &&
      (signature.length !== expected.length ||
        !timingSafeEqual(new TextEncoder().encode(signature), new TextEncoder().encode(expected)))
    ) {
      throw new Error("Jupyter message with an invalid HMAC signature");
    }
    return {
      header: JSON.parse(parts[0]),
      parent_header: JSON.parse(parts[1]),
      metadata: JSON.parse(parts[2]),
      content: JSON.parse(parts[3]),
      buffers: frames.slice(delimiterIndex + 6),
    };
  }
}
