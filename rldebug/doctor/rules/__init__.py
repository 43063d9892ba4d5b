"""The doctor's rules, one class per problem; :data:`DEFAULT_RULES` runs them all.

Order matters only for :class:`LearningRateTooHigh`, which reads the findings
of the rules before it. Which finding explains which is :mod:`rldebug.doctor.causes`'.
"""

from rldebug.doctor.rules.base import Rule
from rldebug.doctor.rules.combined import LearningRateTooHigh
from rldebug.doctor.rules.health import NonFinite
from rldebug.doctor.rules.offpolicy import (
    AlphaRunaway,
    OffPolicyDrift,
    QValuesCollapsed,
    QValuesDiverging,
)
from rldebug.doctor.rules.policy import (
    EntropyCollapse,
    KLBlowup,
    PolicyStaysRandom,
    UpdatesTooSmall,
)
from rldebug.doctor.rules.returns import AlwaysTruncated, ModuleNotLearning, ReturnNotImproving
from rldebug.doctor.rules.reward import (
    EndsEpisodesToEscapeCost,
    LearnsToEarnNothing,
    NonFiniteReturn,
    RewardConstant,
    RewardNeverPositive,
    RewardScale,
    StartsAtDeclaredSuccess,
)
from rldebug.doctor.rules.setup import (
    GradClipTooSmall,
    HorizonTooShort,
    LearnerBound,
    MappingUnstable,
    NoUpdates,
    ObservationConstant,
    ReplayTooSmall,
    RunnersDropped,
    RunnersFailed,
    TargetNeverUpdated,
)
from rldebug.doctor.rules.value import CriticClipped, ValueLossExploding, ValueNotLearning

DEFAULT_RULES: tuple[type[Rule], ...] = (
    NonFiniteReturn,
    NonFinite,
    ObservationConstant,
    EntropyCollapse,
    KLBlowup,
    PolicyStaysRandom,
    UpdatesTooSmall,
    ValueNotLearning,
    ValueLossExploding,
    CriticClipped,
    QValuesDiverging,
    QValuesCollapsed,
    AlphaRunaway,
    OffPolicyDrift,
    RewardConstant,
    RewardNeverPositive,
    EndsEpisodesToEscapeCost,
    LearnsToEarnNothing,
    StartsAtDeclaredSuccess,
    RewardScale,
    ReturnNotImproving,
    ModuleNotLearning,
    AlwaysTruncated,
    NoUpdates,
    ReplayTooSmall,
    TargetNeverUpdated,
    GradClipTooSmall,
    RunnersDropped,
    RunnersFailed,
    LearnerBound,
    HorizonTooShort,
    MappingUnstable,
    LearningRateTooHigh,
)

__all__ = [
    "DEFAULT_RULES",
    "AlphaRunaway",
    "AlwaysTruncated",
    "CriticClipped",
    "EndsEpisodesToEscapeCost",
    "EntropyCollapse",
    "GradClipTooSmall",
    "HorizonTooShort",
    "KLBlowup",
    "LearnerBound",
    "LearningRateTooHigh",
    "LearnsToEarnNothing",
    "MappingUnstable",
    "ModuleNotLearning",
    "NoUpdates",
    "NonFinite",
    "NonFiniteReturn",
    "ObservationConstant",
    "OffPolicyDrift",
    "PolicyStaysRandom",
    "QValuesCollapsed",
    "QValuesDiverging",
    "ReplayTooSmall",
    "ReturnNotImproving",
    "RewardConstant",
    "RewardNeverPositive",
    "RewardScale",
    "Rule",
    "RunnersDropped",
    "RunnersFailed",
    "StartsAtDeclaredSuccess",
    "TargetNeverUpdated",
    "UpdatesTooSmall",
    "ValueLossExploding",
    "ValueNotLearning",
]
