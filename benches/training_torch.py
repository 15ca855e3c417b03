"""The paper's CNN+FC, Transformer and CNN+LSTM in PyTorch on CPU, trained on random
data with the same sizes, batch and optimizer as `benches/training.rs`:
the baseline of its examples/s. Prints one line per model:
`model examples_per_s`.

Run: python3 benches/training_torch.py [--threads 2] [--steps N]
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class CnnFc(nn.Module):
    # The paper's (CnnConfig::paper): 4->128 (k25), max-pool 5/4, 128->256 (k11),
    # 256->512 (k7), 512->1024 (k5), the last three at stride 4, all "same"-padded;
    # flatten, FC 512, dropout 0.3, the MLP head (FC 2048, GELU, FC).
    def __init__(self, length, outputs):
        super().__init__()
        self.kernels = (25, 11, 7, 5)
        self.strides = (1, 4, 4, 4)
        channels = (4, 128, 256, 512, 1024)
        self.convs = nn.ModuleList(
            [nn.Conv1d(channels[i], channels[i + 1], k, stride=s)
             for i, (k, s) in enumerate(zip(self.kernels, self.strides))]
        )
        flat = (length - 5) // 4 + 1
        for s in self.strides[1:]:
            flat = -(-flat // s)
        self.fc = nn.Linear(1024 * flat, 512)
        self.dropout = nn.Dropout(0.3)
        self.dense = nn.Linear(512, 2048)
        self.decoder = nn.Linear(2048, outputs)

    def conv(self, i, h):
        k = self.kernels[i]
        return F.relu(self.convs[i](F.pad(h, ((k - 1) // 2, k // 2))))

    def forward(self, x):
        h = F.max_pool1d(self.conv(0, x), 5, 4)
        for i in range(1, 4):
            h = self.conv(i, h)
        h = self.dropout(self.fc(h.flatten(1)))
        return self.decoder(F.gelu(self.dense(h)))


class CnnLstm(nn.Module):
    # DanQ: 4->320 (k26), ReLU, max-pool 13/13, dropout, BiLSTM 320,
    # flatten, dropout, 925 ReLU, linear; dropout 0.3 throughout.
    def __init__(self, length, outputs):
        super().__init__()
        self.conv = nn.Conv1d(4, 320, 26)
        steps = (length - 25 - 13) // 13 + 1
        self.lstm = nn.LSTM(320, 320, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(0.3)
        self.fc = nn.Linear(steps * 640, 925)
        self.head = nn.Linear(925, outputs)

    def forward(self, x):
        h = F.max_pool1d(F.relu(self.conv(x)), 13, 13)
        h, _ = self.lstm(self.dropout(h).transpose(1, 2))
        return self.head(F.relu(self.fc(self.dropout(h.flatten(1)))))


def rotate(x, cos, sin):
    # Rotary embedding on interleaved pairs, as candle's rope_slow does
    # (halves), the same arithmetic cost.
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


class Layer(nn.Module):
    def __init__(self, hidden, heads, ffn, dropout):
        super().__init__()
        self.heads = heads
        self.attention_norm = nn.LayerNorm(hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.ffn_norm = nn.LayerNorm(hidden)
        self.ffn_in = nn.Linear(hidden, 2 * ffn)
        self.ffn_out = nn.Linear(ffn, hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, cos, sin):
        b, t, h = x.shape
        d = h // self.heads
        qkv = self.qkv(self.attention_norm(x)).view(b, t, 3, self.heads, d).permute(2, 0, 3, 1, 4)
        q, k, v = rotate(qkv[0], cos, sin), rotate(qkv[1], cos, sin), qkv[2]
        scores = q @ k.transpose(-1, -2) / math.sqrt(d)
        attention = self.dropout(scores.softmax(-1))
        context = (attention @ v).transpose(1, 2).reshape(b, t, h)
        x = x + self.dropout(self.out(context))
        a, g = self.ffn_in(self.ffn_norm(x)).chunk(2, dim=-1)
        return x + self.dropout(self.ffn_out(F.gelu(a) * g))


class Transformer(nn.Module):
    # 629 k-patch ids, 512 hidden, conv k7 over embeddings, CLS, 4 pre-norm
    # layers of 8 heads, gated-GELU FFN 2048, dropout 0.15, rotary positions,
    # the MLP head.
    def __init__(self, outputs, vocab=629, hidden=512, layers=4, heads=8, ffn=2048, dropout=0.15):
        super().__init__()
        self.tokens = nn.Embedding(vocab, hidden)
        self.token_conv = nn.Conv1d(hidden, hidden, 7, padding=3)
        self.cls = nn.Parameter(torch.randn(1, 1, hidden) * 0.02)
        self.layers = nn.ModuleList([Layer(hidden, heads, ffn, dropout) for _ in range(layers)])
        self.final_norm = nn.LayerNorm(hidden)
        # The paper's MLP head (TransformerConfig::paper): FC 2048, GELU, FC.
        self.dense = nn.Linear(hidden, 2048)
        self.decoder = nn.Linear(2048, outputs)
        self.dropout = nn.Dropout(dropout)
        self.head_dim = hidden // heads

    def forward(self, ids):
        x = self.tokens(ids)
        x = self.token_conv(x.transpose(1, 2)).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
        t = x.shape[1]
        inv = 1.0 / 10000 ** (torch.arange(0, self.head_dim // 2) * 2.0 / self.head_dim)
        angles = torch.arange(t).float()[:, None] * inv[None, :]
        cos, sin = angles.cos(), angles.sin()
        x = self.dropout(x)
        for layer in self.layers:
            x = layer(x, cos, sin)
        return self.decoder(F.gelu(self.dense(self.dropout(self.final_norm(x[:, 0])))))


def rate(model, make_batch, batch, steps):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    model.train()

    def step():
        x, y = make_batch()
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    step()  # warm-up, not timed
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - started)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--length", type=int, default=500)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    b, n = args.batch, args.length

    def one_hot():
        idx = torch.randint(0, 4, (b, n))
        return F.one_hot(idx, 4).float().transpose(1, 2).contiguous(), torch.randint(0, 2, (b, 1)).float()

    def patches():
        return torch.randint(4, 629, (b, (n + 3) // 4)), torch.randint(0, 2, (b, 1)).float()

    print(f"cnn {rate(CnnFc(n, 1), one_hot, b, args.steps):.2f}")
    print(f"transformer {rate(Transformer(1), patches, b, args.steps):.2f}")
    print(f"cnn_lstm {rate(CnnLstm(n, 1), one_hot, b, args.steps):.2f}")


if __name__ == "__main__":
    main()
