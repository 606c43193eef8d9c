#!/usr/bin/env python3
"""Writes a small synthetic MNIST-layout IDX data set (gzip) for the dlc train tests.

    make_idx.py DIR N_TRAIN N_TEST

Each image is a 28x28 u8 picture of its class: a bright horizontal bar at a row that
depends on the label, plus deterministic noise, so a model can learn it in a few steps.
"""
import gzip
import os
import struct
import sys


def write(path, magic, dims, payload):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">I", magic))
        for d in dims:
            f.write(struct.pack(">I", d))
        f.write(payload)


def make(directory, prefix, n, seed):
    state = seed
    images = bytearray(n * 784)
    labels = bytearray(n)
    for i in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        label = (state >> 33) % 10
        labels[i] = label
        for p in range(784):
            state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
            noise = (state >> 57)  # 0..127
            row = p // 28
            images[i * 784 + p] = min(255, noise + (70 if 2 * label + 3 <= row <= 2 * label + 5 else 0))
    write(os.path.join(directory, prefix + "-images-idx3-ubyte.gz"), 0x803, [n, 28, 28], bytes(images))
    write(os.path.join(directory, prefix + "-labels-idx1-ubyte.gz"), 0x801, [n], bytes(labels))


def main():
    directory, n_train, n_test = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.makedirs(directory, exist_ok=True)
    make(directory, "train", n_train, 1)
    make(directory, "t10k", n_test, 2)


if __name__ == "__main__":
    main()
