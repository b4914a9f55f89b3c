/**
 * {@link referenceBiLstm}: the bidirectional LSTM in plain tf ops, step by step, differentiated by
 * tfjs's autodiff. The same function as `FastBiLSTM`'s WebAssembly sweeps (and as tfjs-layers'
 * `bidirectional(lstm)`); it runs where those cannot: a runtime without WebAssembly SIMD, or a
 * batch too large for the module's memory. Slow (a dozen ops per step and direction), never
 * wrong.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { FastBiLstmOptions } from "./options.ts";

/**
 * The bidirectional LSTM from tf ops (differentiable).
 *
 * @param x input `[batch, time, features]`
 * @param weights forward kernel, recurrent kernel, bias, backward kernel, recurrent kernel, bias
 * @param options units, gate activation, padding mask and dropout masks
 * @returns `[batch, time, 2*units]`, as `fastBiLstm`
 */
export function referenceBiLstm(
  x: tf.Tensor3D,
  weights: tf.Tensor[],
  options: FastBiLstmOptions,
): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, time] = x.shape;
    const { units } = options;
    const gate = options.recurrentActivation === "sigmoid"
      ? (z: tf.Tensor) => tf.sigmoid(z)
      : (z: tf.Tensor) => tf.clipByValue(tf.add(tf.mul(z, 0.2), 0.5), 0, 1);
    const steps = tf.unstack(x, 1) as tf.Tensor2D[];
    const live = options.mask === null ? null : tf.unstack(
      tf.reshape(tf.cast(tf.cast(options.mask, "bool"), "float32"), [batch, time, 1]),
      1,
    );
    const direction = (index: 0 | 1): tf.Tensor3D => {
      const [kernel, recurrent, bias] = weights.slice(3 * index, 3 * index + 3) as tf.Tensor2D[];
      const drop = options.dropout === null
        ? null
        : tf.tensor2d(options.dropout[index], [batch, units]);
      let h: tf.Tensor2D = tf.zeros([batch, units]);
      let c: tf.Tensor2D = tf.zeros([batch, units]);
      const outputs: tf.Tensor2D[] = new Array(time);
      for (let k = 0; k < time; k++) {
        const t = index === 0 ? k : time - 1 - k;
        const input = drop === null ? h : tf.mul(h, drop);
        const z = tf.add(tf.add(tf.matMul(steps[t], kernel), bias), tf.matMul(input, recurrent));
        const [zi, zf, zg, zo] = tf.split(z, 4, 1);
        const cNext = tf.add(tf.mul(gate(zf), c), tf.mul(gate(zi), tf.tanh(zg))) as tf.Tensor2D;
        const hNext = tf.mul(gate(zo), tf.tanh(cNext)) as tf.Tensor2D;
        // A padded step carries the state over unchanged.
        const keep = (next: tf.Tensor2D, previous: tf.Tensor2D): tf.Tensor2D =>
          live === null
            ? next
            : tf.add(tf.mul(next, live[t]), tf.mul(previous, tf.sub(1, live[t])));
        c = keep(cNext, c);
        h = keep(hNext, h);
        outputs[t] = h;
      }
      return tf.stack(outputs, 1) as tf.Tensor3D;
    };
    return tf.concat([direction(0), direction(1)], 2);
  });
}
