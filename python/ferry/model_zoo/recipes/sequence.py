"""Recurrent sequence models and a routed Mixture-of-Experts MLP, as plain torch modules."""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

from .._recipe import InputSpec, Recipe, SizeConfig


class LSTMTagger(nn.Module):
    """Stacked LSTM over feature frames, a linear head per step and on the last state."""

    def __init__(self, features=80, hidden=512, layers=2, classes=32):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, frames):
        steps, (h, _) = self.lstm(frames)
        return self.head(steps), h[-1]


class GRUEncoder(nn.Module):
    """Token embedding, a bidirectional GRU, and a mean-pooled sentence vector."""

    def __init__(self, vocab=8000, embed=256, hidden=384, classes=16):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.gru = nn.GRU(embed, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, classes)

    def forward(self, tokens):
        steps, _ = self.gru(self.embed(tokens))
        return self.head(steps.mean(1))


class MoEMLP(nn.Module):
    """Top-k routed experts, dispatched the way MoE layers do: the gate picks k experts per
    token (TopK), tokens are grouped by their first expert (argsort, Gather), each token's
    chosen expert weights are gathered (Gather), and the results are scattered back to the
    tokens' original positions (ScatterND). Also returns each expert's token count."""

    def __init__(self, dim=512, hidden=1024, experts=8, top_k=2):
        super().__init__()
        self.experts, self.top_k = experts, top_k
        self.gate = nn.Linear(dim, experts, bias=False)
        self.w_in = nn.Parameter(torch.randn(experts, dim, hidden) * dim ** -0.5)
        self.w_out = nn.Parameter(torch.randn(experts, hidden, dim) * hidden ** -0.5)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        b, s, d = x.shape
        tokens = self.norm(x).reshape(b * s, d)
        scores, chosen = torch.topk(self.gate(tokens), self.top_k, dim=-1)
        order = torch.argsort(chosen[:, 0])
        tokens, chosen, weights = tokens[order], chosen[order], torch.softmax(scores[order], dim=-1)
        hidden = F.gelu(torch.einsum("nd,nkdh->nkh", tokens, self.w_in[chosen]))
        routed = torch.einsum("nkh,nkhd->nkd", hidden, self.w_out[chosen])
        grouped = (routed * weights.unsqueeze(-1)).sum(1)
        y = torch.zeros_like(grouped).index_put((order,), grouped)
        load = F.one_hot(chosen.reshape(-1), self.experts).sum(0)
        return x + y.reshape(b, s, d), load


RECIPES = [
    Recipe("lstm", "sequence", "2-layer LSTM tagger over feature frames", LSTMTagger,
           (InputSpec("frames", ("batch", "seq", "features")),), ("step_logits", "last_hidden"),
           {"full": SizeConfig({}, {"features": 80}, seq_lens=(64, 128)),
            "smoke": SizeConfig({"features": 12, "hidden": 16, "classes": 5}, {"features": 12},
                                seq_lens=(5, 9))}),
    Recipe("gru", "sequence", "Bidirectional GRU sentence encoder over tokens", GRUEncoder,
           (InputSpec("tokens", ("batch", "seq"), "tokens", high=8000),), ("logits",),
           {"full": SizeConfig({}, seq_lens=(64, 128)),
            "smoke": SizeConfig({"vocab": 8000, "embed": 16, "hidden": 12, "classes": 4},
                                seq_lens=(5, 9))}),
    Recipe("moe_mlp", "moe", "Mixture-of-Experts MLP, top-2 routing over 8 experts", MoEMLP,
           (InputSpec("x", ("batch", "seq", "dim")),), ("y", "expert_load"),
           {"full": SizeConfig({}, {"dim": 512}, seq_lens=(64, 128)),
            "smoke": SizeConfig({"dim": 16, "hidden": 32, "experts": 4}, {"dim": 16}, seq_lens=(5, 9))}),
]
