#!/usr/bin/python3
"""Training steps per second of hdiff's default tree U-Net written in PyTorch
(Debian's python3-torch), layer for layer as src/nets/networks.cpp builds it:
masked diffusion, v = 8, s = 2, L = 3, width 128, one residual block per level,
the noise-level MLP, batch 128, Adam. The minibatch (strings, antithetic t,
masks) is drawn with torch's generator from a fixed set of random token strings:
the grammar does not change the cost of a step.

usage: /usr/bin/python3 bench/net_train_pytorch.py [--threads N] [--seconds S]
prints one line: "pytorch threads N: X steps/s"
"""
import argparse
import time

import torch
from torch import nn
import torch.nn.functional as F

V, S, L, WIDTH, BLOCKS, BATCH, P = 8, 2, 3, 128, 1, 128, 4096
D = S ** L


class ResidualMlp(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.norm, self.fc1, self.fc2 = nn.LayerNorm(w), nn.Linear(w, w), nn.Linear(w, w)

    def forward(self, x):
        return x + self.fc2(F.gelu(self.fc1(self.norm(x))))


def blocks(w, n):
    return nn.Sequential(*[ResidualMlp(w) for _ in range(n)])


class NoiseEmbedding(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(1, w), nn.Linear(w, w)

    def forward(self, t):
        return self.fc2(F.gelu(self.fc1(t.reshape(-1, 1)))).unsqueeze(1)


class DownLevel(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.blocks, self.merge, self.norm = blocks(w, BLOCKS), nn.Linear(S * w, w), nn.LayerNorm(w)


class UpLevel(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.split, self.norm, self.blocks = nn.Linear(w, S * w), nn.LayerNorm(w), blocks(w, BLOCKS)


class TreeUnet(nn.Module):
    def __init__(self, w=WIDTH):
        super().__init__()
        self.w = w
        self.embed = nn.Linear(V + 1, w)
        self.noise = NoiseEmbedding(w)
        self.down = nn.ModuleList([DownLevel(w) for _ in range(L)])
        self.up = nn.ModuleList([UpLevel(w) for _ in range(L)])
        self.middle = blocks(w, BLOCKS)
        self.out = nn.Linear(w, V)

    def forward(self, tokens, t):
        b, n = tokens.shape
        e = self.noise(t)
        h = self.embed(F.one_hot(tokens, V + 1).float()) + e
        skips = []
        for level in self.down:
            h = level.blocks(h)
            skips.append(h)
            n //= S
            h = F.gelu(level.norm(level.merge(h.reshape(b, n, S * self.w)))) + e
        h = self.middle(h)
        for i in reversed(range(L)):
            level = self.up[i]
            n *= S
            h = level.split(h).reshape(b, n, self.w)
            h = F.gelu(level.norm(h + skips[i])) + e
            h = level.blocks(h)
        return self.out(h)


def masked_loss(logits, clean, masked, t):
    ce = -torch.log_softmax(logits, -1).gather(-1, clean.unsqueeze(-1)).squeeze(-1)
    return ((ce * masked).sum(1) / t / D).mean()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    data = torch.randint(0, V, (P, D))
    net = TreeUnet()
    adam = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step():
        clean = data[torch.randint(0, P, (BATCH,))]
        t = ((torch.rand(()) + torch.arange(BATCH) / BATCH) % 1.0).clamp_min(1e-3)
        masked = torch.rand(BATCH, D) < t.unsqueeze(1)
        noisy = torch.where(masked, torch.full_like(clean, V), clean)
        loss = masked_loss(net(noisy, t), clean, masked.float(), t)
        adam.zero_grad()
        loss.backward()
        adam.step()
        return loss.item()

    for _ in range(20):  # warm-up
        step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        step()
        steps += 1
    print(f"pytorch threads {args.threads}: {steps / (time.perf_counter() - start):.1f} steps/s")


if __name__ == "__main__":
    main()
