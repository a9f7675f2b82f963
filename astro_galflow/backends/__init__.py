"""Inference backends: how a head's ``(context, eps) -> samples`` sampler is executed."""
