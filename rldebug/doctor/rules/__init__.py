"""The doctor's rules, one class per problem; :data:`DEFAULT_RULES` runs them all.

Order matters only for :class:`LearningRateTooHigh`, which reads the findings
of the rules before it.
"""

from rldebug.doctor.rules.base import Rule
from rldebug.doctor.rules.combined import LearningRateTooHigh
from rldebug.doctor.rules.health import NonFinite
from rldebug.doctor.rules.policy import EntropyCollapse, KLBlowup
from rldebug.doctor.rules.returns import (
                                          AlwaysTruncated,
                                          ModuleNotLearning,
                                          ReturnNotImproving,
                                          RewardStuck,
)
from rldebug.doctor.rules.value import CriticClipped, ValueLossExploding, ValueNotLearning

DEFAULT_RULES: tuple[type[Rule], ...] = (
    NonFinite,
    EntropyCollapse,
    KLBlowup,
    ValueNotLearning,
    ValueLossExploding,
    CriticClipped,
    RewardStuck,
    ReturnNotImproving,
    ModuleNotLearning,
    AlwaysTruncated,
    LearningRateTooHigh,
)

__all__ = ["DEFAULT_RULES", "AlwaysTruncated", "CriticClipped", "EntropyCollapse", "KLBlowup",
           "LearningRateTooHigh", "ModuleNotLearning", "NonFinite", "ReturnNotImproving",
           "RewardStuck", "Rule", "ValueLossExploding", "ValueNotLearning"]
