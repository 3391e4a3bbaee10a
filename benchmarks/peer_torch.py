"""PyTorch eager peer: the same models trained with a hand loop (Adam 1e-3), inference and latency.

Idiomatic torch: the model ends in logits and ``CrossEntropyLoss`` takes class indices (the fastest
way torch offers); inference applies the softmax, so it returns what the Keras model returns.
"""
from __future__ import annotations

import numpy as np

from common import emit, gflops, measure_inference, parse_args, train_rate
from workloads import INFER_BATCH, data, spec, train_flops_per_sample


def build(name, torch):
    nn = torch.nn
    if name == "mlp1":
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10))
    if name == "mlp2":
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    if name == "cnn":
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
                             nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10))

    class LSTMNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(16, 64, batch_first=True)
            self.head = nn.Linear(64, 1)

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return self.head(h[-1])
    return LSTMNet()


def main():
    args = parse_args()
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    s = spec(args.workload, args.quick)
    b, cce = s["batch"], s["loss"] == "cce"
    x, y = data(s)
    to_torch = (lambda a: np.ascontiguousarray(a.transpose(0, 3, 1, 2))) if s["name"] == "cnn" else (lambda a: a)
    X = torch.from_numpy(to_torch(x))
    Y = torch.from_numpy(y.argmax(1)) if cce else torch.from_numpy(y)
    model = build(s["name"], torch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss() if cce else torch.nn.MSELoss()
    n = len(X)

    def epoch(i):
        model.train()
        perm = torch.randperm(n)
        for start in range(0, n, b):
            idx = perm[start:start + b]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(X[idx]), Y[idx])
            loss.backward()
            opt.step()
    out = {"peer": "torch", "workload": s["name"], "threads": args.threads, "version": torch.__version__}
    out.update(train_rate(epoch, n, args.quick))
    out["train_gflops"] = gflops(train_flops_per_sample(s["name"]) * out["train_samples_per_s"], 1.0)
    model.eval()
    xi = torch.from_numpy(to_torch(data(s, n=INFER_BATCH * (4 if args.quick else 16), seed=1)[0]))

    def predict(xb):
        with torch.inference_mode():
            o = model(xb)
            return torch.softmax(o, -1) if cce else o
    measure_inference(out, s["name"], predict, xi, INFER_BATCH, args.quick)
    emit(out)


if __name__ == "__main__":
    main()
