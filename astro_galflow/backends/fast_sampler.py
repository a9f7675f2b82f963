"""Restructure a sampler's RealNVP flows for inference: fewer, larger, fused operations.

:class:`~astro_galflow.heads.coupling.ConditionalRealNVP` is written for training (masks
applied by multiplication, 3-D ``(N, S, H)`` activations). For sampling,
:func:`restructure` replaces each of them by an equivalent :class:`FastRealNVP`:

* samples are folded into matmul rows, ``(N*S, D)``, so every linear layer is one GEMM
  with its bias fused (ONNX ``Gemm``) instead of a batched matmul plus a separate add;
* the context projections of all layers are one ``(N, C) x (C, L*H)`` matmul per call
  (once per galaxy, shared by its samples);
* the masks are folded into the weights: conditioning columns of the input layer and the
  scale/shift rows of the conditioning coordinates are zeroed, so no mask multiplies
  remain (a zero log-scale and shift leave those coordinates exactly unchanged), and the
  ``1/bound`` of the soft scale clamp is folded into the scale rows.

The result equals the original to float32 rounding (parity tests: 1e-5 relative).
Measured by ``benchmarks/bench_backends.py`` (backend ``onnxruntime-plain`` is the
unrestructured export).
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

from astro_galflow.heads import coupling

__all__ = ["FastRealNVP", "restructure"]


class FastRealNVP(nn.Module):
    """Inference-only equivalent of a :class:`~astro_galflow.heads.coupling.ConditionalRealNVP`.

    Parameters
    ----------
    flow : astro_galflow.heads.coupling.ConditionalRealNVP
        Source of the weights (copied; the flow itself is not modified).
    """

    def __init__(self, flow: coupling.ConditionalRealNVP):
        super().__init__()
        bound = coupling._SCALE_BOUND
        self.bound = bound
        layers = list(flow.layers)
        self.dim = flow.dim
        self.n_layers = len(layers)
        self.hidden = layers[0].in_context.out_features
        with torch.no_grad():
            self.context_weight = nn.Parameter(torch.cat([layer.in_context.weight for layer in layers]).clone())
            self.context_bias = nn.Parameter(torch.cat([layer.in_context.bias for layer in layers]).clone())
            self.x_weight = nn.ParameterList()
            self.mid_weight, self.mid_bias = nn.ParameterList(), nn.ParameterList()
            self.out_weight, self.out_bias = nn.ParameterList(), nn.ParameterList()
            for layer in layers:
                mask = layer.mask.to(layer.in_x.weight.dtype)
                free = 1.0 - mask
                self.x_weight.append(nn.Parameter((layer.in_x.weight * mask).clone()))
                mid, out = layer.body[1], layer.body[3]
                self.mid_weight.append(nn.Parameter(mid.weight.clone()))
                self.mid_bias.append(nn.Parameter(mid.bias.clone()))
                row_scale = torch.cat([free / bound, free])
                self.out_weight.append(nn.Parameter(out.weight * row_scale[:, None]))
                self.out_bias.append(nn.Parameter(out.bias * row_scale))

    def forward(self, context: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Samples ``(N, S, dim)`` from context ``(N, C)`` and noise ``(N, S, dim)``."""
        n, s, d = eps.shape
        projected = F.linear(context, self.context_weight, self.context_bias).reshape(n, 1, self.n_layers, self.hidden)
        rows = eps.reshape(n * s, d)
        for k in range(self.n_layers):
            h = (rows @ self.x_weight[k].t()).reshape(n, s, self.hidden) + projected[:, :, k]
            h = F.silu(h.reshape(n * s, self.hidden))
            h = F.silu(F.linear(h, self.mid_weight[k], self.mid_bias[k]))
            scale, shift = F.linear(h, self.out_weight[k], self.out_bias[k]).split(d, dim=-1)
            rows = rows * torch.exp(self.bound * torch.tanh(scale)) + shift
        return rows.reshape(n, s, d)


def _is_standard(flow: coupling.ConditionalRealNVP) -> bool:
    # Only the layer structure written in heads/coupling.py is restructured; a
    # subclass or a changed body keeps its own forward.
    for layer in flow.layers:
        body = getattr(layer, "body", None)
        if type(layer) is not coupling.AffineCoupling or not isinstance(body, nn.Sequential) or len(body) != 4:
            return False
        if not (isinstance(body[0], nn.SiLU) and isinstance(body[2], nn.SiLU) and isinstance(body[3], nn.Linear)):
            return False
    return type(flow) is coupling.ConditionalRealNVP and len(flow.layers) > 0


def restructure(sampler: nn.Module) -> nn.Module:
    """A copy of ``sampler`` whose RealNVP flows are :class:`FastRealNVP`.

    Parameters
    ----------
    sampler : torch.nn.Module
        Any ``(context, eps) -> samples`` module (joint sampler, ensemble, head).

    Returns
    -------
    torch.nn.Module
        ``sampler`` itself when it contains no RealNVP flow, else a restructured copy in
        eval mode.
    """
    targets = [
        name for name, m in sampler.named_modules() if isinstance(m, coupling.ConditionalRealNVP) and _is_standard(m)
    ]
    if isinstance(sampler, coupling.ConditionalRealNVP):
        return FastRealNVP(sampler).eval() if targets else sampler
    if not targets:
        return sampler
    fast = copy.deepcopy(sampler)
    for name in targets:
        parent_name, _, attr = name.rpartition(".")
        parent = fast.get_submodule(parent_name) if parent_name else fast
        setattr(parent, attr, FastRealNVP(getattr(parent, attr)))
    return fast.eval()
