"""Works in training, fails in deployment.

- :func:`parity` checks a deployed policy against the checkpoint's training pipeline and
  names the part of the pipeline a disagreeing deployment leaves out;
- :func:`inference_policy` is that pipeline as a standalone policy, and :func:`export`
  writes it to a folder (and, where the pipeline allows, an ONNX graph).
"""

from rldebug.deployment.comparison import DEFAULT_MIN_AGREEMENT, ParityReport, parity
from rldebug.deployment.exporting import export
from rldebug.deployment.pipeline import InferencePolicy, Variant, inference_policy

__all__ = ["DEFAULT_MIN_AGREEMENT", "InferencePolicy", "ParityReport", "Variant", "export",
           "inference_policy", "parity"]
