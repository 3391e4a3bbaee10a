"""Export PyTorch tutorial models to ONNX for graphc's import tests (torch is never a test dependency).

Run with the venv that has torch (the newer exporter also needs ``onnxscript``)::

    /work/main/.venv/bin/python tools/make_torch_fixtures.py [--only NAME ...]

For every model below and for three ways of exporting -- ``legacy``: the TorchScript exporter
(``torch.onnx.export(..., dynamo=False)``, opset 13); ``dynamo``: the newer ``torch.export``-based
exporter (``dynamo=True``, opset 18, its default graph optimization on); ``functions``: the
TorchScript exporter with ``export_modules_as_functions=True`` (opset 15), which writes every
``nn.Module`` as an ONNX local function, nested as the modules are (torch 2.13's dynamo exporter
inlines its functions itself, so this is the variant that makes graphc's importer inline them)
-- it writes

* ``tests/data/torch/<name>.<exporter>.onnx`` with a dynamic batch axis, and
* ``tests/data/torch/<name>.<exporter>.npz``: ``x`` (a batch of 5 inputs), ``y`` (torch's
  eval-mode output on it) and ``y1`` (torch's output on the first sample alone, which checks
  the dynamic batch).

The models are the PyTorch tutorials' shapes, scaled down so the committed files stay small:
an MNIST MLP, the MNIST CNN of pytorch/examples (conv-conv-pool-dropout-fc-dropout-fc-log_softmax),
a CIFAR-style CNN with BatchNorm/Dropout/AvgPool, a model-zoo block (a SqueezeNet fire module
with Concat, a ResNet basic block with an identity skip, padding and global pooling), an LSTM
regressor, a two-layer GRU regressor, a bidirectional LSTM classifier and a CNN that flattens with
``view(x.size(0), -1)`` (the recurrent models' zero initial states and the view's target shape are
computed from the dynamic batch size: ``graphc.ops.symbolic`` carries them as symbolic shapes). Models whose ops graphc lacks still get fixtures: the test then checks the error.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np
import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "torch")


class MnistMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
                                 nn.Linear(32, 10))

    def forward(self, x):
        return torch.softmax(self.net(x), dim=1)


class MnistCNN(nn.Module):
    """pytorch/examples mnist/main.py's Net with 8/16 channels and a 32-unit hidden layer."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(16 * 12 * 12, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        x = nn.functional.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = torch.relu(self.fc1(x))
        x = self.dropout2(x)
        return nn.functional.log_softmax(self.fc2(x), dim=1)


class SmallBNCNN(nn.Module):
    """A CIFAR-10 tutorial CNN with BatchNorm, Dropout, average pooling and a sigmoid/tanh head."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AvgPool2d(2),
            nn.Conv2d(8, 12, 3, padding=1, bias=False), nn.BatchNorm2d(12), nn.LeakyReLU(0.1),
            nn.MaxPool2d(2, stride=2), nn.Dropout(0.3))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(12 * 4 * 4, 16), nn.BatchNorm1d(16), nn.Tanh(),
                                  nn.Dropout(0.5), nn.Linear(16, 4), nn.Sigmoid())

    def forward(self, x):
        return self.head(self.features(x))


class Fire(nn.Module):
    """SqueezeNet's fire module: squeeze 1x1, then 1x1 and 3x3 expands concatenated on channels."""

    def __init__(self, cin, squeeze, expand):
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.e1 = nn.Conv2d(squeeze, expand, 1)
        self.e3 = nn.Conv2d(squeeze, expand, 3, padding=1)

    def forward(self, x):
        s = torch.relu(self.squeeze(x))
        return torch.cat([torch.relu(self.e1(s)), torch.relu(self.e3(s))], 1)


class BasicBlock(nn.Module):
    """ResNet's basic block with an identity shortcut."""

    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + x)


class ZooBlocks(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2)
        self.pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.fire = Fire(8, 4, 6)
        self.block = BasicBlock(12)
        self.fc = nn.Linear(12, 5)

    def forward(self, x):
        x = self.pool(torch.relu(self.stem(x)))
        x = self.block(self.fire(x))
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return torch.softmax(self.fc(x), dim=-1)


class LSTMRegressor(nn.Module):
    """The time-series tutorial: LSTM(4 -> 8) over 6 steps, the last step's state to Linear(8 -> 1)."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 8, batch_first=True)
        self.fc = nn.Linear(8, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1, :])


class GRURegressor(nn.Module):
    """The same regressor with a two-layer GRU (two stacked ONNX GRU ops, linear_before_reset=1)."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, 8, num_layers=2, batch_first=True)
        self.fc = nn.Linear(8, 1)

    def forward(self, x):
        out, _ = self.gru(x)
        return self.fc(out[:, -1, :])


class BiLSTMClassifier(nn.Module):
    """A sequence classifier: bidirectional LSTM(4 -> 6), both directions' final hidden states
    concatenated (h_n), then Linear(12 -> 3) and softmax."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 6, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(12, 3)

    def forward(self, x):
        out, (h, _) = self.lstm(x)
        feats = torch.cat([h[0], h[1]], dim=1) + out.mean(dim=1)
        return torch.softmax(self.fc(feats), dim=-1)


class ViewCNN(nn.Module):
    """A CNN that flattens with ``x.view(x.size(0), -1)`` (the shape is computed from the dynamic batch)
    and reshapes its features again with ``reshape(n, 2, -1)``."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, stride=2)
        self.fc = nn.Linear(72, 5)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        n = y.size(0)
        y = y.view(n, -1)
        y = y.reshape(n, 2, -1).sum(dim=1)
        return self.fc(y)


MODELS = {
    "mnist_mlp": (MnistMLP, (1, 28, 28)),
    "mnist_cnn": (MnistCNN, (1, 28, 28)),
    "bn_cnn": (SmallBNCNN, (3, 16, 16)),
    "zoo_blocks": (ZooBlocks, (3, 23, 23)),
    "lstm_regressor": (LSTMRegressor, (6, 4)),
    "gru_regressor": (GRURegressor, (6, 4)),
    "bilstm_classifier": (BiLSTMClassifier, (7, 4)),
    "view_cnn": (ViewCNN, (1, 13, 13)),
}


# export_modules_as_functions fails on bn_cnn ("module instances of the same class must have the same
# set of annotated attributes": BatchNorm1d/2d) and on the LSTM; the other models export with it
FUNCTIONS_OK = {"mnist_mlp": True, "mnist_cnn": True, "bn_cnn": False, "zoo_blocks": True, "lstm_regressor": False,
               "gru_regressor": False, "bilstm_classifier": False, "view_cnn": True}


def _init(model, seed):
    """Non-trivial BatchNorm statistics and affine parameters (fresh ones are 0/1), then eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.3)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.2)
    return model.eval()


def export(name, exporter):
    cls, shape = MODELS[name]
    torch.manual_seed(0)
    model = _init(cls(), 1)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5,) + shape).astype(np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
        y1 = model(torch.from_numpy(x[:1])).numpy()
    path = os.path.join(OUT, f"{name}.{exporter}.onnx")
    args = (torch.from_numpy(x),)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "functions" and not FUNCTIONS_OK[name]:
            print(f"{name}.{exporter}: skipped (torch cannot export this model's modules as functions)")
            return
        if exporter in ("legacy", "functions"):
            torch.onnx.export(model, args, path, dynamo=False, opset_version=13 if exporter == "legacy" else 15,
                              input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "N"}, "y": {0: "N"}},
                              export_modules_as_functions=exporter == "functions")
        else:
            batch = torch.export.Dim("N", min=1, max=1024)
            program = torch.onnx.export(model, args, dynamo=True, opset_version=18, input_names=["x"],
                                        output_names=["y"], dynamic_shapes=({0: batch},), optimize=True)
            program.save(path)
    np.savez(os.path.join(OUT, f"{name}.{exporter}.npz"), x=x, y=y, y1=y1)
    import onnx
    proto = onnx.load(path)
    ops = sorted({n.op_type for n in proto.graph.node} | {n.op_type for f in proto.functions for n in f.node})
    print(f"{name}.{exporter}: {os.path.getsize(path):,} bytes, opset "
          f"{[o.version for o in proto.opset_import if o.domain in ('', 'ai.onnx')]}, "
          f"{len(proto.functions)} local functions, ops {ops}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="*", default=None, help="model names (default: all)")
    p.add_argument("--exporters", nargs="*", default=["legacy", "dynamo", "functions"])
    args = p.parse_args()
    os.makedirs(OUT, exist_ok=True)
    print(f"torch {torch.__version__}")
    for name in args.only or MODELS:
        for exporter in args.exporters:
            export(name, exporter)
    return 0


if __name__ == "__main__":
    sys.exit(main())
