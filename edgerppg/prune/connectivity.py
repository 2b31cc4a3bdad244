"""Connectivity of a sparse network: heat-diffusion signature distance on its channel graph.

N2NSkip (Subramaniam & Sharma, BMVC 2020) measures how well a pruned network stays connected by comparing
the heat-diffusion signature of its graph with that of the dense network: with the normalised graph
Laplacian L, the heat kernel trace h(t) = trace(exp(-t L)) = sum_i exp(-t lambda_i) over a range of
diffusion times t summarises how heat (information) spreads; the score is the distance between the pruned
and the dense signatures (lower = closer to dense connectivity).

Graph here: one node per channel. Each Conv3d of the chain (execution order, see n2nskip.conv_chain) links
its input channels to its output channels, the edge weight being the fraction of non-zero kernel taps
(1 for a dense connection, 0 for a fully pruned one). A layer's input channels are the previous chain
layer's output channels when the counts match (a sequential chain), new nodes otherwise. N2NSkip 1x1x1
skips add edges from the source layer's output channels to the target's output channels.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

DEFAULT_TIMES = tuple(np.logspace(-2, 2, 30))


def channel_graph(chain: list, skips: list | None = None, dense: bool = False) -> np.ndarray:
    """Weighted adjacency over channel nodes. `chain`: [(name, conv)]; `skips`: [(src, dst, skip_conv)]."""
    blocks, out_nodes, n = [], {}, 0
    prev_out = None
    for name, conv in chain:
        w = conv.weight.detach()
        if getattr(conv, "transposed", False):
            w = w.transpose(0, 1)
        c_out, c_in = w.shape[0], w.shape[1] * conv.groups
        if prev_out is not None and prev_out[1] == c_in:
            in_start = prev_out[0]
        else:
            in_start, n = n, n + c_in
        out_start, n = n, n + c_out
        blocks.append((in_start, out_start, _edge_weights(w, conv.groups, dense)))
        out_nodes[name] = (out_start, c_out)
        prev_out = (out_start, c_out)
    for src, dst, skip in skips or []:
        if src in out_nodes and dst in out_nodes:
            blocks.append((out_nodes[src][0], out_nodes[dst][0], _edge_weights(skip.weight.detach(), 1, dense)))
    adj = np.zeros((n, n))
    for in_start, out_start, e in blocks:
        c_out, c_in = e.shape
        adj[out_start : out_start + c_out, in_start : in_start + c_in] += e
    return adj + adj.T


def _edge_weights(w: torch.Tensor, groups: int, dense: bool) -> np.ndarray:
    """(C_out, C_in) fraction of non-zero taps; group convs connect only within their group."""
    taps = torch.ones_like(w) if dense else (w != 0).to(w.dtype)
    frac = taps.flatten(2).mean(2).cpu().double().numpy()
    if groups == 1:
        return frac
    c_out, c_in_g = frac.shape
    full = np.zeros((c_out, c_in_g * groups))
    per = c_out // groups
    for g in range(groups):
        full[g * per : (g + 1) * per, g * c_in_g : (g + 1) * c_in_g] = frac[g * per : (g + 1) * per]
    return full


def heat_signature(adj: np.ndarray, times=DEFAULT_TIMES) -> np.ndarray:
    """h(t) = trace(exp(-t L_norm)) / n for each t (normalised Laplacian; isolated nodes have L_ii = 0)."""
    deg = adj.sum(1)
    inv = np.where(deg > 0, 1.0 / np.sqrt(np.maximum(deg, 1e-300)), 0.0)
    lap = np.diag((deg > 0).astype(float)) - inv[:, None] * adj * inv[None, :]
    eig = np.linalg.eigvalsh(lap)
    return np.exp(-np.outer(times, eig)).sum(1) / len(eig)


def connectivity_score(model: nn.Module, example_inputs: tuple, scope: str | None = None, exclude: str | None = None,
                       times=DEFAULT_TIMES) -> dict:
    """Heat-signature distance between the model's channel graph (with any N2NSkip skips) and its dense form."""
    from edgerppg.models.skips import ATTR
    from edgerppg.prune.n2nskip import conv_chain

    chain, _ = conv_chain(model, example_inputs, scope, exclude)
    chain = [(n, m) for n, m, _ in chain]
    cfg = getattr(model, "_n2nskip_config", None)
    skips = []
    if cfg is not None:
        mods = getattr(model, ATTR)
        skips = [(s, d, mods[str(i)]) for i, (s, d, _, _) in enumerate(cfg["pairs"])]
    dense = heat_signature(channel_graph(chain, None, dense=True), times)
    sparse_seq = heat_signature(channel_graph(chain, None), times)
    sparse = heat_signature(channel_graph(chain, skips), times)
    return {
        "distance": float(np.linalg.norm(sparse - dense)),
        "distance_without_skips": float(np.linalg.norm(sparse_seq - dense)),
        "nodes": int(len(channel_graph(chain, None, dense=True))),
        "layers": len(chain),
        "skips": len(skips),
    }
