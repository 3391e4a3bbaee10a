"""graphc demo: the Keras MNIST CNN tutorial model, compiled to native code by graphc.

Builds the tutorial CNN with `from graphc import keras`, prints its summary, shows what the
compiler did (lowered and optimized IR), and predicts on a batch of real handwritten digits
(scikit-learn's digits, upscaled to 28x28) with one native call per batch.
"""
import time

import numpy as np

import graphc
from graphc import keras


def digits_28x28(n=256):
    from sklearn.datasets import load_digits
    d = load_digits()
    x = d.images[:n] / 16.0                                   # (n, 8, 8) in [0, 1]
    x = np.kron(x, np.ones((3, 3)))[:, :, :, None]            # (n, 24, 24, 1) nearest-neighbour x3
    x = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))           # (n, 28, 28, 1) as MNIST
    return x.astype(np.float32), d.target[:n]


def main():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(32, (3, 3), activation="relu"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(64, (3, 3), activation="relu"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(64, (3, 3), activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.summary()

    t0 = time.perf_counter()
    exe = graphc.compile(model)
    print(f"\ncompiled in {time.perf_counter() - t0:.2f} s (from cache: {exe.compiled.from_cache}); "
          f"{len(exe.source_graph.ops())} ops lowered -> {len(exe.graph.ops())} after passes "
          f"(layout pass: {sum(o.op_type == 'Transpose' for o in exe.source_graph.ops())} -> "
          f"{sum(o.op_type == 'Transpose' for o in exe.graph.ops())} transposes)")

    x, y = digits_28x28()
    t0 = time.perf_counter()
    model.predict(x, batch_size=256, verbose=0)               # first call: compile (or cache) + bind batch 256
    first = time.perf_counter() - t0
    calls = model._executable().native_calls
    t0 = time.perf_counter()
    probs = model.predict(x, batch_size=256, verbose=0)
    dt = time.perf_counter() - t0
    print(f"predict on {len(x)} real digits: {dt * 1e3:.1f} ms (first call {first * 1e3:.0f} ms), "
          f"{model._executable().native_calls - calls} native call(s); output {probs.shape}, "
          f"rows sum to 1: {np.allclose(probs.sum(1), 1, atol=1e-5)}")
    print("untrained predictions for the first 10 digits:", probs[:10].argmax(1), "labels:", y[:10])


if __name__ == "__main__":
    main()
