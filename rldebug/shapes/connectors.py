"""The new API stack's connector pipelines, as rldebug reads them: the pieces a user
added to RLlib's defaults, and the running statistics some pieces keep."""

from __future__ import annotations

import contextlib

# RLlib's own pieces, added to every pipeline (ConnectorPipelineV2 defaults): without
# them no batch reaches the module, so they are never "left out".
DEFAULT_PIECES = frozenset({
    "AddObservationsFromEpisodesToBatch", "AddTimeDimToBatchAndZeroPad",
    "AddStatesFromEpisodesToBatch", "AgentToModuleMapping", "BatchIndividualItems",
    "NumpyToTensor", "TensorToNumpy"})


# RLlib's pieces that build the module's input from earlier steps of the episode too
# (the previous actions and rewards, the last frames), and those that read the newest
# observation alone (with statistics of their own, for MeanStdFilter). RLlib's
# Single/MultiAgentObservationPreprocessor, the base of a user's per-observation piece,
# hands its preprocess() only the newest observation.
HISTORY_PIECES = frozenset({"PrevActionsPrevRewards", "FrameStacking"})
PER_STEP_PIECES = frozenset({"FlattenObservations", "MeanStdFilter"})
_PER_STEP_BASES = frozenset({"SingleAgentObservationPreprocessor",
                             "MultiAgentObservationPreprocessor"})


def history_pieces(pipeline) -> tuple[list[str], list[str]]:
    """``(RLlib's pieces that read earlier steps, the user's pieces that may)``, by class
    name, of an env-to-module pipeline: what a one-step episode answers differently from
    a later step of a real one."""
    known, unknown = [], []
    for piece in pipeline.connectors:
        name = type(piece).__name__
        bases = {cls.__name__ for cls in type(piece).__mro__}
        if name in HISTORY_PIECES:
            known.append(name)
        elif name not in DEFAULT_PIECES | PER_STEP_PIECES and not bases & _PER_STEP_BASES:
            unknown.append(name)
    return known, unknown


def user_piece_names(pipeline) -> list[str]:
    """Class names of a pipeline's pieces that are not RLlib's defaults (filters, frame
    stacking, flattening, previous actions/rewards, ...), in order."""
    return [type(c).__name__ for c in pipeline.connectors
            if type(c).__name__ not in DEFAULT_PIECES]


def configured_piece_names(config, env) -> list[str] | None:
    """Class names of the pieces ``config.env_runners(env_to_module_connector=...)`` makes
    for ``env``, asked as RLlib 2.60 asks it (``fn(env, spaces, device)``, else
    ``fn(env)``); ``[]`` without one, None when it cannot be asked here."""
    factory = getattr(config, "_env_to_module_connector", None)
    if factory is None:
        return []
    try:
        try:
            made = factory(env, None, None)
        except TypeError:
            made = factory(env)
    except Exception:  # noqa: BLE001 - the user's function; building will say it
        return None
    pieces = list(made) if isinstance(made, (list, tuple)) else [made]
    names = []
    for piece in pieces:
        inner = getattr(piece, "connectors", None)  # a pipeline of pieces
        names += [type(p).__name__ for p in inner] if isinstance(inner, list) else \
            [type(piece).__name__]
    return names


def _statistics_pieces(pipeline) -> list:
    """The pieces of ``pipeline`` (nested pipelines included) that keep running
    statistics, as RLlib's ``MeanStdFilter`` does (its ``_update_stats`` flag)."""
    found = []
    for piece in getattr(pipeline, "connectors", ()):
        if hasattr(piece, "_update_stats"):
            found.append(piece)
        found += _statistics_pieces(piece)
    return found


def freeze_statistics(pipeline) -> None:
    """Stop the pieces that keep running statistics (RLlib's ``MeanStdFilter``) from
    updating them: inference applies the statistics training saved, as they were."""
    for piece in _statistics_pieces(pipeline):
        piece._update_stats = False


@contextlib.contextmanager
def statistics_frozen(pipeline):
    """``pipeline`` with its running statistics frozen (:func:`freeze_statistics`) for
    the block, then as it was: an observation normalised with the statistics training
    saved, not with statistics that already include it (or the rows before it)."""
    pieces = _statistics_pieces(pipeline)
    flags = [piece._update_stats for piece in pieces]
    for piece in pieces:
        piece._update_stats = False
    try:
        yield pipeline
    finally:
        for piece, flag in zip(pieces, flags):
            piece._update_stats = flag


__all__ = ["DEFAULT_PIECES", "HISTORY_PIECES", "PER_STEP_PIECES", "configured_piece_names",
           "freeze_statistics", "history_pieces", "statistics_frozen", "user_piece_names"]
