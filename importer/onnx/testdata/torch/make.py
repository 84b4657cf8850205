"""Writes the small PyTorch-exported ONNX models of importer/onnx's
TestTorchExports, with inputs and torch's own outputs at two shapes.

    /usr/bin/python3 make.py        # torch 1.13, in this folder

Each NAME.onnx comes with its parameter count in torch (NAME.params.txt),
NAME.a.inK.npy / NAME.a.outK.npy and
NAME.b.inK.npy / NAME.b.outK.npy: input K and output K at shapes a and b
(another batch size and sequence length, or image size). Weights and
inputs are seeded; the models are exported with dynamic batch and
sequence (or height/width) axes.
"""
import numpy as np
import torch
import torch.nn as nn


class LSTM2Bi(nn.Module):
    """Two-layer bidirectional batch-first LSTM, default (zero) states."""
    def __init__(s):
        super().__init__()
        s.rnn = nn.LSTM(4, 3, num_layers=2, bidirectional=True, batch_first=True)

    def forward(s, x):
        return s.rnn(x)[0]


class GRUH0(nn.Module):
    """Batch-first GRU started from h0 (a graph input, batch on axis 1);
    returns the sequence and a Linear of the last layer's final state."""
    def __init__(s):
        super().__init__()
        s.rnn = nn.GRU(4, 3, batch_first=True)
        s.fc = nn.Linear(3, 2)

    def forward(s, x, h0):
        y, h = s.rnn(x, h0)
        return y, s.fc(h[-1])


class RNNRelu(nn.Module):
    """Two-layer ReLU RNN; a Linear of the last step's output."""
    def __init__(s):
        super().__init__()
        s.rnn = nn.RNN(4, 5, num_layers=2, nonlinearity="relu", batch_first=True)
        s.fc = nn.Linear(5, 2)

    def forward(s, x):
        y, _ = s.rnn(x)
        return s.fc(y[:, -1])


class LSTMStates(nn.Module):
    """Two-layer batch-first LSTM from (h0, c0) graph inputs; returns the
    sequence, and the last layer's h_n and c_n through a Linear."""
    def __init__(s):
        super().__init__()
        s.rnn = nn.LSTM(4, 3, num_layers=2, batch_first=True)
        s.fc = nn.Linear(6, 2)

    def forward(s, x, h0, c0):
        y, (h, c) = s.rnn(x, (h0, c0))
        return y, s.fc(torch.cat([h[-1], c[-1]], dim=1))


class TextCNN(nn.Module):
    """Conv1D + ReLU + bidirectional GRU + mean over steps + Linear: a
    text model over (batch, seq, features)."""
    def __init__(s):
        super().__init__()
        s.conv = nn.Conv1d(6, 8, 3, padding=1)
        s.rnn = nn.GRU(8, 4, bidirectional=True, batch_first=True)
        s.fc = nn.Linear(8, 3)

    def forward(s, x):
        h = torch.relu(s.conv(x.transpose(1, 2))).transpose(1, 2)
        y, _ = s.rnn(h)
        return s.fc(y[:, -1])


class EmbedLSTM(nn.Module):
    """nn.Embedding over int64 token ids, an LSTM and a Linear of the last
    step: the usual text classifier."""
    def __init__(s):
        super().__init__()
        s.emb = nn.Embedding(50, 8, padding_idx=0)
        s.rnn = nn.LSTM(8, 6, batch_first=True)
        s.fc = nn.Linear(6, 3)

    def forward(s, x):
        y, _ = s.rnn(s.emb(x))
        return s.fc(y[:, -1])


class FCN(nn.Module):
    """Fully convolutional CNN with dynamic height and width."""
    def __init__(s):
        super().__init__()
        s.c1 = nn.Conv2d(3, 4, 3, padding=1)
        s.c2 = nn.Conv2d(4, 5, 3, stride=2, padding=1)
        s.head = nn.Conv2d(5, 2, 1)

    def forward(s, x):
        h = torch.relu(s.c1(x))
        h = torch.nn.functional.max_pool2d(h, 2)
        h = torch.relu(s.c2(h))
        return s.head(h), torch.mean(h, dim=(2, 3))


class LSTMTimeMajor(nn.Module):
    """A time-major graph input (seq, batch, features) and output."""
    def __init__(s):
        super().__init__()
        s.rnn = nn.LSTM(4, 3)

    def forward(s, x):
        return s.rnn(x)[0]


class GRUTimeMajorStates(nn.Module):
    """Time-major two-layer bidirectional GRU from h0, returning the
    sequence and h_n (layers*directions, batch, hidden)."""
    def __init__(s):
        super().__init__()
        s.rnn = nn.GRU(4, 3, num_layers=2, bidirectional=True)

    def forward(s, x, h0):
        return s.rnn(x, h0)


def seq(n, t, f):
    return torch.randn(n, t, f)


def export(name, model, shapes, names, dyn, outs, opset=13):
    torch.manual_seed(1)
    model.eval()
    torch.onnx.export(model, shapes["a"], name + ".onnx", input_names=names, output_names=outs,
                      dynamic_axes=dyn, opset_version=opset)
    with open(name + ".params.txt", "w") as f:
        f.write("%d\n" % sum(p.numel() for p in model.parameters()))
    for k, ins in shapes.items():
        with torch.no_grad():
            got = model(*ins)
        if not isinstance(got, tuple):
            got = (got,)
        for i, x in enumerate(ins):
            a = x.numpy()
            np.save("%s.%s.in%d.npy" % (name, k, i), a if a.dtype == np.int64 else a.astype(np.float32))
        for i, y in enumerate(got):
            np.save("%s.%s.out%d.npy" % (name, k, i), y.numpy().astype(np.float32))


def main():
    torch.manual_seed(0)
    bs = {0: "batch", 1: "seq"}
    m = LSTM2Bi()
    export("lstm2bi", m, {"a": (seq(2, 5, 4),), "b": (seq(3, 7, 4),)}, ["x"], {"x": bs, "y": bs}, ["y"])
    m = GRUH0()
    export("gru_h0", m, {"a": (seq(2, 5, 4), torch.randn(1, 2, 3)), "b": (seq(3, 2, 4), torch.randn(1, 3, 3))},
           ["x", "h0"], {"x": bs, "h0": {1: "batch"}, "y": bs, "z": {0: "batch"}}, ["y", "z"])
    m = RNNRelu()
    export("rnn_relu", m, {"a": (seq(2, 5, 4),), "b": (seq(1, 9, 4),)}, ["x"], {"x": bs, "z": {0: "batch"}}, ["z"])
    # Opset 9: Slice and Squeeze take attributes; x[:, -1] is a Slice of
    # the unknown steps axis and a Squeeze of it.
    export("rnn_relu_opset9", m, {"a": (seq(2, 5, 4),), "b": (seq(1, 9, 4),)}, ["x"], {"x": bs, "z": {0: "batch"}}, ["z"], opset=9)
    m = LSTMStates()
    export("lstm_states", m, {"a": (seq(2, 5, 4), torch.randn(2, 2, 3), torch.randn(2, 2, 3)),
                              "b": (seq(3, 4, 4), torch.randn(2, 3, 3), torch.randn(2, 3, 3))},
           ["x", "h0", "c0"], {"x": bs, "h0": {1: "batch"}, "c0": {1: "batch"}, "y": bs, "z": {0: "batch"}}, ["y", "z"])
    m = TextCNN()
    export("textcnn", m, {"a": (seq(2, 6, 6),), "b": (seq(3, 11, 6),)}, ["x"], {"x": bs, "z": {0: "batch"}}, ["z"])
    m = EmbedLSTM()
    export("embed_lstm", m, {"a": (torch.randint(0, 50, (2, 7)),), "b": (torch.randint(0, 50, (3, 12)),)}, ["x"],
           {"x": bs, "z": {0: "batch"}}, ["z"])
    m = FCN()
    hw = {0: "batch", 2: "h", 3: "w"}
    export("fcn", m, {"a": (torch.randn(1, 3, 16, 12),), "b": (torch.randn(2, 3, 9, 20),)}, ["x"],
           {"x": hw, "y": hw, "z": {0: "batch"}}, ["y", "z"])
    m = LSTMTimeMajor()
    sb = {0: "seq", 1: "batch"}
    export("lstm_time_major", m, {"a": (seq(5, 2, 4),), "b": (seq(3, 4, 4),)}, ["x"], {"x": sb, "y": sb}, ["y"])
    m = GRUTimeMajorStates()
    export("gru_time_major_states", m, {"a": (seq(5, 2, 4), torch.randn(4, 2, 3)), "b": (seq(2, 3, 4), torch.randn(4, 3, 3))},
           ["x", "h0"], {"x": sb, "h0": {1: "batch"}, "y": sb, "h": {1: "batch"}}, ["y", "h"])


if __name__ == "__main__":
    main()
