#!/usr/bin/env python3
"""The recipes of `dlc train` in PyTorch, for side-by-side accuracy figures.

    torch_reference.py mlp|cnn [--epochs=N] [--batch=N] [--optimizer=adam|momentum]
                       [--lr=X] [--schedule=constant|cosine] [--data-dir=DIR] [--threads=N]
                       [--seed=N]

Same model (W1/W2 of BENCHMARKS.md), data scaling ([0, 1]), batch size, optimizer and
per-step learning-rate schedule as dlc train; PyTorch's own initialization and
shuffling (so figures agree up to seed noise, not bitwise). Prints the test accuracy
and loss after every epoch and the seconds per epoch. Not a ctest: it takes minutes.
Run it with Debian's /usr/bin/python3 when that is where python3-torch lives.
"""
import gzip
import math
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def idx(path):
    raw = gzip.open(path).read()
    dims = raw[3]
    shape = struct.unpack_from(">" + "I" * dims, raw, 4)
    return torch.frombuffer(bytearray(raw[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 512), nn.Linear(512, 512), nn.Linear(512, 10)

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x.flatten(1))))))


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 32, 5, padding=2), nn.Conv2d(32, 64, 5, padding=2)
        self.fc1, self.fc2 = nn.Linear(3136, 128), nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def main():
    model_name = sys.argv[1]
    opts = dict(a[2:].split("=", 1) for a in sys.argv[2:])
    cnn = model_name == "cnn"
    epochs = int(opts.get("epochs", 10 if cnn else 5))
    batch = int(opts.get("batch", 128))
    optimizer = opts.get("optimizer", "adam")
    lr = float(opts.get("lr", 1e-3 if optimizer == "adam" else 0.01))
    schedule = opts.get("schedule", "cosine" if cnn else "constant")
    data = opts.get("data-dir", "/usr/share/datasets/fashion-mnist")
    torch.set_num_threads(int(opts.get("threads", 2)))
    torch.manual_seed(int(opts.get("seed", 0)))

    xtr = idx(f"{data}/train-images-idx3-ubyte.gz").float().div(255).unsqueeze(1)
    ytr = idx(f"{data}/train-labels-idx1-ubyte.gz").long()
    xte = idx(f"{data}/t10k-images-idx3-ubyte.gz").float().div(255).unsqueeze(1)
    yte = idx(f"{data}/t10k-labels-idx1-ubyte.gz").long()
    model = Cnn() if cnn else Mlp()
    opt = (torch.optim.Adam(model.parameters(), lr=lr) if optimizer == "adam"
           else torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9))
    steps_per_epoch = len(xtr) // batch  # the last partial batch is dropped, as in dlc
    total = epochs * steps_per_epoch
    step = 0
    print(f"pytorch {torch.__version__}: {model_name}, {optimizer} lr {lr} {schedule}, batch {batch}, {epochs} epochs")
    for epoch in range(epochs):
        t0 = time.time()
        model.train()
        perm = torch.randperm(len(xtr))
        for s in range(steps_per_epoch):
            if schedule == "cosine":
                for g in opt.param_groups:
                    g["lr"] = 0.5 * lr * (1 + math.cos(math.pi * step / total))
            i = perm[s * batch:(s + 1) * batch]
            loss = F.cross_entropy(model(xtr[i]), ytr[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        secs = time.time() - t0
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(xte[j:j + 1000]) for j in range(0, len(xte), 1000)])
            test_loss = F.cross_entropy(logits, yte).item()
            acc = 100.0 * (logits.argmax(1) == yte).float().mean().item()
        print(f"epoch {epoch + 1}/{epochs}: test accuracy {acc:.2f} %, test loss {test_loss:.4f} ({secs:.1f} s)",
              flush=True)


if __name__ == "__main__":
    main()
