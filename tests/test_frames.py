"""rldebug.inprocess.frames: RLlib's inspect.stack() under runpy gets the same answers,
without rescanning sys.modules for frames that belong to no module."""

import inspect
import runpy
import sys

import gymnasium as gym
from ray.rllib.connectors.env_to_module import FlattenObservations

from rldebug.inprocess import frames

SCRIPT = """
import inspect, sys
STACK = [(f.filename, inspect.getmodule(f.frame)) for f in inspect.stack()]
"""


def test_getmodule_answers_the_same_for_every_frame_of_a_runpy_script(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    recorded = frames.remember_frames_without_module()
    remembered = runpy.run_path(str(script), run_name="__main__")["STACK"]
    runpy_files = [f for f, _ in remembered if f == "<frozen runpy>"]
    assert len(runpy_files) >= 2  # the script's own stack goes through runpy
    forgotten = {f: inspect.modulesbyfile.pop(f) for f in list(inspect.modulesbyfile)
                 if inspect.modulesbyfile[f] == frames._NO_MODULE}
    try:
        plain = runpy.run_path(str(script), run_name="__main__")["STACK"]
    finally:
        inspect.modulesbyfile.update(forgotten)
    # Same module (or None) for every frame, with or without the record; the runpy
    # frames have none, and this test's own frame has this module.
    assert [(f, getattr(m, "__name__", None)) for f, m in remembered] == \
        [(f, getattr(m, "__name__", None)) for f, m in plain]
    assert all(m is None for f, m in remembered if f == "<frozen runpy>")
    assert sys.modules[__name__] in [m for _, m in remembered]
    assert "<frozen runpy>" in recorded or "<frozen runpy>" in forgotten


def test_a_real_module_file_is_never_recorded_as_having_no_module():
    recorded = frames.remember_frames_without_module(extra_files=(__file__, inspect.__file__))
    assert __file__ not in recorded and inspect.__file__ not in recorded
    assert inspect.getmodule(sys._getframe()) is sys.modules[__name__]


def test_rllib_connectors_still_record_their_constructor_arguments():
    frames.remember_frames_without_module()
    space = gym.spaces.Dict({"a": gym.spaces.Discrete(3)})
    piece = FlattenObservations(input_observation_space=space, multi_agent=True)
    _, kwargs = piece.get_ctor_args_and_kwargs()
    assert kwargs["multi_agent"] is True and kwargs["input_observation_space"] == space
