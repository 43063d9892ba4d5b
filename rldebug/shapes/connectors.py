"""The new API stack's connector pipelines, as rldebug reads them: the pieces a user
added to RLlib's defaults, and the running statistics some pieces keep."""

from __future__ import annotations

# RLlib's own pieces, added to every pipeline (ConnectorPipelineV2 defaults): without
# them no batch reaches the module, so they are never "left out".
DEFAULT_PIECES = frozenset({
    "AddObservationsFromEpisodesToBatch", "AddTimeDimToBatchAndZeroPad",
    "AddStatesFromEpisodesToBatch", "AgentToModuleMapping", "BatchIndividualItems",
    "NumpyToTensor", "TensorToNumpy"})


def user_piece_names(pipeline) -> list[str]:
    """Class names of a pipeline's pieces that are not RLlib's defaults (filters, frame
    stacking, flattening, previous actions/rewards, ...), in order."""
    return [type(c).__name__ for c in pipeline.connectors
            if type(c).__name__ not in DEFAULT_PIECES]


def freeze_statistics(pipeline) -> None:
    """Stop the pieces that keep running statistics (RLlib's ``MeanStdFilter``) from
    updating them: inference applies the statistics training saved, as they were."""
    for piece in pipeline.connectors:
        if hasattr(piece, "_update_stats"):
            piece._update_stats = False


__all__ = ["DEFAULT_PIECES", "freeze_statistics", "user_piece_names"]
