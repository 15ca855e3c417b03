"""dnabench's models in PyTorch, reading the checkpoints that `dnabench
train` and `dnabench pretrain` write (`runs/RUN/model.safetensors` with the
network's sizes in `runs/RUN/config.json`).

    model = dnabench.torch_models.load_run("quickstart-store", "promoter-cnn-1")
    logits = model(batch["x"])      # the batches of Store.loader

The layers compute what candle's do (the CNN+FC, the CNN+LSTM and the
Transformer of `training/src/models`), with the same parameter names but
for three PyTorch conventions: nn.Embedding's `weight` for candle's
`embeddings`, nn.LSTM's `weight_ih_l0`/`weight_hh_l0`/`_reverse` for the
directions' `input` and `recurrent` layers, and nn.LSTM's `bias_hh`, which
candle does not have (zeros). `python/tests/test_torch_models.py` checks
the outputs against candle's to 1e-4.
"""

from __future__ import annotations

import json
import math
import os
import pathlib

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["CnnFc", "CnnLstm", "Transformer", "from_config", "load_run", "load_checkpoint"]


class _MlpHead(nn.Module):
    """The paper's head: a dense layer, GELU, then the outputs."""

    def __init__(self, features: int, hidden: int, outputs: int):
        super().__init__()
        self.dense = nn.Linear(features, hidden)
        self.decoder = nn.Linear(hidden, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(F.gelu(self.dense(x)))


def _task_head(cfg: dict, features: int) -> nn.Module:
    """The head a config names (`head`: linear, the default, or mlp)."""
    if cfg.get("head", "linear") == "mlp":
        return _MlpHead(features, cfg.get("head_hidden", 2048), cfg["outputs"])
    return nn.Linear(features, cfg["outputs"])


class CnnFc(nn.Module):
    """Convolutions with ReLU (the first one max-pooled; each at its
    `strides` entry, "same"-padded with `padding = "same"`), then flatten (or
    a max over positions with `global_pool`), the optional `fc` layer,
    dropout and the head."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.cfg = cfg
        if not cfg["channels"] or len(cfg["channels"]) != len(cfg["kernels"]):
            raise ValueError("cnn config: give one channel count per kernel")
        strides = cfg.get("strides") or [1] * len(cfg["kernels"])
        if len(strides) != len(cfg["kernels"]):
            raise ValueError("cnn config: give one stride per kernel, or none")
        self.strides = strides
        self.same = cfg.get("padding", "valid") == "same"
        inputs = 4
        for i, (out, kernel) in enumerate(zip(cfg["channels"], cfg["kernels"])):
            self.add_module(f"conv{i}", nn.Conv1d(inputs, out, kernel, stride=strides[i]))
            inputs = out
        length = self._conv_length(0, cfg["length"])
        length = (length - cfg["pool_kernel"]) // cfg["pool_stride"] + 1
        for i in range(1, len(cfg["kernels"])):
            length = self._conv_length(i, length)
        if length < 1:
            raise ValueError(f"cnn config: input of {cfg['length']} bp is too short")
        features = inputs if cfg.get("global_pool") else inputs * length
        self.fc = None
        if cfg.get("fc", 0):
            self.fc = nn.Linear(features, cfg["fc"])
            features = cfg["fc"]
        self.dropout = nn.Dropout(cfg["dropout"])
        self.head = _task_head(cfg, features)

    def _conv_length(self, i: int, length: int) -> int:
        if self.same:
            return -(-length // self.strides[i])
        return (length - self.cfg["kernels"][i]) // self.strides[i] + 1

    def _conv(self, i: int, h: torch.Tensor) -> torch.Tensor:
        if self.same:
            kernel = self.cfg["kernels"][i]
            h = F.pad(h, ((kernel - 1) // 2, kernel // 2))
        return F.relu(getattr(self, f"conv{i}")(h))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """`(batch, 4, length)` one-hot to the features before the head."""
        h = self._conv(0, x)
        h = F.max_pool1d(h, self.cfg["pool_kernel"], max(self.cfg["pool_stride"], 1))
        for i in range(1, len(self.cfg["kernels"])):
            h = self._conv(i, h)
        h = h.amax(dim=-1) if self.cfg.get("global_pool") else h.flatten(1)
        return self.fc(h) if self.fc is not None else h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.embed(x)))


class CnnLstm(nn.Module):
    """A convolution with ReLU and max-pool, a bidirectional LSTM, flatten
    (or a max over steps), a ReLU layer and the head (DanQ)."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.cfg = cfg
        steps = cfg["length"] - cfg["kernel"] + 1
        steps = (steps - cfg["pool_kernel"]) // max(cfg["pool_stride"], 1) + 1
        if steps < 1:
            raise ValueError(f"cnn_lstm config: input of {cfg['length']} bp is too short")
        self.conv = nn.Conv1d(4, cfg["channels"], cfg["kernel"])
        self.lstm = nn.LSTM(cfg["channels"], cfg["lstm_hidden"], batch_first=True, bidirectional=True)
        width = (1 if cfg.get("global_pool") else steps) * 2 * cfg["lstm_hidden"]
        self.fc = nn.Linear(width, cfg["fc"])
        self.head = nn.Linear(cfg["fc"], cfg["outputs"])
        self.dropout = nn.Dropout(cfg["dropout"])

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.conv(x))
        h = F.max_pool1d(h, self.cfg["pool_kernel"], max(self.cfg["pool_stride"], 1))
        h = self.dropout(h)
        h, _ = self.lstm(h.transpose(1, 2))
        h = h.amax(dim=1) if self.cfg.get("global_pool") else h.flatten(1)
        return F.relu(self.fc(self.dropout(h)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))

    @staticmethod
    def candle_names(state: dict) -> dict:
        renamed = {}
        for name, value in state.items():
            for direction, suffix in (("forward", ""), ("backward", "_reverse")):
                for layer, torch_name in (("input", "ih"), ("recurrent", "hh")):
                    prefix = f"lstm.{direction}.{layer}."
                    if name.startswith(prefix):
                        kind = name[len(prefix):]
                        name = f"lstm.{kind}_{torch_name}_l0{suffix}"
            renamed[name] = value
        # candle's recurrent layers have no bias; nn.LSTM adds a second one.
        for suffix in ("", "_reverse"):
            key = f"lstm.bias_ih_l0{suffix}"
            if key in renamed:
                renamed[f"lstm.bias_hh_l0{suffix}"] = torch.zeros_like(renamed[key])
        return renamed


class _Layer(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        hidden = cfg["hidden"]
        self.attention_norm = nn.LayerNorm(hidden, eps=1e-5)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.ffn_norm = nn.LayerNorm(hidden, eps=1e-5)
        self.ffn_in = nn.Linear(hidden, 2 * cfg["ffn"])
        self.ffn_out = nn.Linear(cfg["ffn"], hidden)
        if cfg["positions"] == "relative":
            self.relative_bias = nn.Parameter(torch.zeros(cfg["heads"], 2 * cfg["max_distance"] + 1))


class Transformer(nn.Module):
    """Token embeddings (or, with `one_hot_conv`, a convolution over one-hot
    bases and a max-pool of 4), an optional convolution over them, a CLS
    token, pre-norm layers with gated-GELU feed-forward and rotary, relative
    or absolute positions; the head reads the CLS state or the mean of the
    token states (`readout`)."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.cfg = cfg
        hidden, heads = cfg["hidden"], cfg["heads"]
        if heads == 0 or hidden % heads or (hidden // heads) % 2:
            raise ValueError(f"transformer config: hidden {hidden} must split into {heads} heads of an even size")
        front = cfg.get("one_hot_conv")
        if front:
            self.one_hot = nn.Conv1d(4, hidden, front)
        else:
            self.tokens = nn.Embedding(cfg["vocab"], hidden)
        kernel = cfg.get("token_conv")
        self.token_conv = nn.Conv1d(hidden, hidden, kernel) if kernel else None
        self.cls = nn.Parameter(torch.zeros(1, 1, hidden))
        if cfg["positions"] == "absolute":
            self.positions = nn.Parameter(torch.zeros(cfg["max_tokens"] + 1, hidden))
        for i in range(cfg["layers"]):
            self.add_module(f"layer{i}", _Layer(cfg))
        self.final_norm = nn.LayerNorm(hidden, eps=1e-5)
        self.head = _task_head(cfg, hidden)
        self.dropout = nn.Dropout(cfg["dropout"])

    def _one_hot_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """`(batch, 4, length)` one-hot to `(batch, length // 4, hidden)`."""
        kernel = self.one_hot.kernel_size[0]
        h = F.relu(self.one_hot(F.pad(x, ((kernel - 1) // 2, kernel // 2))))
        return F.max_pool1d(h, 4, 4).transpose(1, 2)

    def states(self, ids: torch.Tensor) -> torch.Tensor:
        """`(batch, tokens)` int64 ids (0 is padding), or `(batch, 4, length)`
        one-hot for a one-hot model, to `(batch, 1 + tokens, hidden)`, CLS
        first, after the final norm."""
        if self.cfg.get("one_hot_conv"):
            x = self._one_hot_tokens(ids)
            is_pad = torch.zeros(x.shape[:2], dtype=torch.bool, device=x.device)
        else:
            is_pad = ids == 0
            x = self.tokens(ids)
        batch, length = is_pad.shape
        if length > self.cfg["max_tokens"]:
            raise ValueError(f"{length} tokens, but the model takes at most {self.cfg['max_tokens']}")
        if self.token_conv is not None:
            kernel = self.token_conv.kernel_size[0]
            x = x * (~is_pad).unsqueeze(2).to(x.dtype)
            x = F.pad(x.transpose(1, 2), ((kernel - 1) // 2, kernel // 2))
            x = self.token_conv(x).transpose(1, 2)
        x = torch.cat([self.cls.expand(batch, 1, -1), x], dim=1)
        tokens = length + 1
        if self.cfg["positions"] == "absolute":
            x = x + self.positions[:tokens].unsqueeze(0)
        head_dim = self.cfg["hidden"] // self.cfg["heads"]
        rotary = _rotary_tables(tokens, head_dim, x.device) if self.cfg["positions"] == "rotary" else None
        distances = None
        if self.cfg["positions"] == "relative":
            positions = torch.arange(tokens, device=x.device)
            most = self.cfg["max_distance"]
            distances = (positions[None, :] - positions[:, None]).clamp(-most, most) + most
        pad = F.pad(is_pad, (1, 0))
        x = self.dropout(x)
        for i in range(self.cfg["layers"]):
            x = self._layer(getattr(self, f"layer{i}"), x, pad, rotary, distances)
        return self.final_norm(x)

    def _layer(self, layer: _Layer, x, pad, rotary, distances):
        batch, tokens, hidden = x.shape
        heads = self.cfg["heads"]
        head_dim = hidden // heads
        qkv = layer.qkv(layer.attention_norm(x)).reshape(batch, tokens, 3, heads, head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        if rotary is not None:
            q, k = _rope(q, *rotary), _rope(k, *rotary)
        scores = q @ k.transpose(-1, -2) / math.sqrt(head_dim)
        if distances is not None:
            scores = scores + layer.relative_bias[:, distances].unsqueeze(0)
        scores = scores.masked_fill(pad[:, None, None, :], float("-inf"))
        weights = self.dropout(scores.softmax(dim=-1))
        context = (weights @ v).transpose(1, 2).reshape(batch, tokens, hidden)
        x = x + self.dropout(layer.out(context))
        gate, value = layer.ffn_in(layer.ffn_norm(x)).chunk(2, dim=-1)
        return x + self.dropout(layer.ffn_out(F.gelu(gate, approximate="tanh") * value))

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        states = self.states(ids)
        if self.cfg.get("readout", "cls") == "cls":
            return states[:, 0]
        if self.cfg.get("one_hot_conv"):
            return states[:, 1:].mean(1)
        keep = (ids != 0).unsqueeze(2).to(states.dtype)
        return (states[:, 1:] * keep).sum(1) / keep.sum(1).clamp(min=1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.embed(ids)))

    @staticmethod
    def candle_names(state: dict) -> dict:
        return {("tokens.weight" if n == "tokens.embeddings" else n): v for n, v in state.items()}


def _rotary_tables(tokens: int, head_dim: int, device):
    half = torch.arange(head_dim // 2, device=device, dtype=torch.float32)
    inverse = 1.0 / 10_000 ** (2.0 * half / head_dim)
    angles = torch.arange(tokens, device=device, dtype=torch.float32)[:, None] * inverse[None, :]
    return angles.cos(), angles.sin()


def _rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embeddings on halves (candle's `rope_slow`, not interleaved)."""
    first, second = x.chunk(2, dim=-1)
    cos, sin = torch.cat([cos, cos], dim=-1), torch.cat([sin, sin], dim=-1)
    return x * cos + torch.cat([-second, first], dim=-1) * sin


_KINDS = {"cnn": CnnFc, "cnn_lstm": CnnLstm, "transformer": Transformer}


def from_config(network: dict) -> nn.Module:
    """The model of a run's `network` config (its `kind` names the class),
    with fresh weights."""
    kind = network.get("kind")
    if kind not in _KINDS:
        raise ValueError(f"no PyTorch model for network kind {kind!r}; one of {', '.join(_KINDS)}")
    return _KINDS[kind](network)


def load_checkpoint(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Loads candle's safetensors at `path` into `model`. Every parameter
    must be there with its shape; the MLM layers of a pre-training
    checkpoint (`mlm.*`) are left out."""
    from safetensors.torch import load_file

    state = load_file(os.fspath(path))
    rename = getattr(type(model), "candle_names", None)
    if rename is not None:
        state = rename(state)
    state = {n: v for n, v in state.items() if not n.startswith("mlm.")}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ValueError(f"checkpoint {path}: missing {missing}, not in the model {unexpected}")
    for name, value in state.items():
        if value.shape != expected[name].shape:
            raise ValueError(
                f"checkpoint {path}: {name} has shape {tuple(value.shape)}, the model {tuple(expected[name].shape)}"
            )
    model.load_state_dict(state)
    return model


def load_run(store: str | os.PathLike, run_id: str) -> nn.Module:
    """The trained model of run `run_id` of `store`, in eval mode."""
    run = pathlib.Path(store) / "runs" / run_id
    config = run / "config.json"
    if not config.is_file():
        raise FileNotFoundError(f"{config}: no such run in the store (see `dnabench tables` and the runs table)")
    network = json.loads(config.read_text())["network"]
    model = from_config(network)
    return load_checkpoint(model, run / "model.safetensors").eval()
