"""Small torch helpers shared by both stack adapters."""

from __future__ import annotations


def layers_of(model) -> list[dict]:
    """Leaf layers of a torch model: name, type, parameter shapes and counts, trainable."""
    layers = []
    for name, layer in model.named_modules():
        if any(True for _ in layer.children()):
            continue
        params = dict(layer.named_parameters(recurse=False))
        shapes = {k: tuple(p.shape) for k, p in params.items()}
        layers.append({
            "name": name,
            "kind": type(layer).__name__,
            "in_features": getattr(layer, "in_features", None),
            "out_features": getattr(layer, "out_features", None),
            "param_shapes": shapes,
            "num_params": int(sum(p.numel() for p in params.values())),
            "trainable": all(p.requires_grad for p in params.values()) if params else None,
        })
    return layers
