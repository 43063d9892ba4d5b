"""Small torch helpers shared by both stack adapters."""

from __future__ import annotations


def layers_of(model) -> list[dict]:
    """Leaf layers of a torch model and every other module's own parameters (a free
    ``log_std``, a custom module's ``nn.Parameter``): name, type, parameter shapes and
    counts, trainable. The counts add up to the model's parameters (a tied one counted
    once)."""
    layers, seen = [], set()
    for name, layer in model.named_modules():
        params = {k: p for k, p in layer.named_parameters(recurse=False) if id(p) not in seen}
        seen.update(map(id, params.values()))
        if any(True for _ in layer.children()) and not params:
            continue
        shapes = {k: tuple(p.shape) for k, p in params.items()}
        layers.append({
            "name": name or "(the module itself)",
            "kind": type(layer).__name__,
            "in_features": getattr(layer, "in_features", None),
            "out_features": getattr(layer, "out_features", None),
            "param_shapes": shapes,
            "num_params": int(sum(p.numel() for p in params.values())),
            "trainable": all(p.requires_grad for p in params.values()) if params else None,
        })
    return layers
