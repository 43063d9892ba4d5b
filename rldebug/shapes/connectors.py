"""The new API stack's env-to-module connector pipeline of an Algorithm's local EnvRunner:
its pieces, and the pipeline with one piece left out (what a deployment that skips it
computes)."""

from __future__ import annotations

import contextlib
import copy

# RLlib's own pieces, added to every pipeline (ConnectorPipelineV2 defaults): without
# them no batch reaches the module, so they are never "left out".
DEFAULT_PIECES = frozenset({
    "AddObservationsFromEpisodesToBatch", "AddTimeDimToBatchAndZeroPad",
    "AddStatesFromEpisodesToBatch", "AgentToModuleMapping", "BatchIndividualItems",
    "NumpyToTensor", "TensorToNumpy"})


def env_to_module_pipeline(algo):
    """The local EnvRunner's env-to-module pipeline (None on the old stack)."""
    runner = getattr(algo, "env_runner", None)
    return getattr(runner, "_env_to_module", None)


def user_pieces(algo) -> list[str]:
    """Class names of the pipeline's pieces that are not RLlib's defaults (filters, frame
    stacking, flattening, previous actions/rewards, ...), in order."""
    pipeline = env_to_module_pipeline(algo)
    if pipeline is None:
        return []
    return [type(c).__name__ for c in pipeline.connectors
            if type(c).__name__ not in DEFAULT_PIECES]


@contextlib.contextmanager
def pipeline_without(algo, piece: str):
    """Within the block, the local EnvRunner's pipeline lacks ``piece`` (its other pieces
    keep their state); the original is back afterwards."""
    runner = algo.env_runner
    original = runner._env_to_module
    variant = copy.deepcopy(original)
    variant.remove(piece)
    runner._env_to_module = variant
    try:
        yield
    finally:
        runner._env_to_module = original


__all__ = ["DEFAULT_PIECES", "env_to_module_pipeline", "pipeline_without", "user_pieces"]
