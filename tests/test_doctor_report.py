"""The doctor's report on real corpus runs: 80-column blocks, root causes first, --all,
--json's explained_by, and the HTML report rendered in a real headless Chromium."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from headless_browser import open_page

from rldebug.cli import main
from rldebug.doctor import diagnose
from rldebug.doctor.html import write_html
from rldebug.doctor.report import MAX_CAUSES
from rldebug.usage import UsageError

RUNS = Path(__file__).parent / "doctor_corpus" / "runs"
LR_05 = RUNS / "arena_lr_0.5"


def cli_output(*args):
    env = {**os.environ, "COLUMNS": "80", "TERM": "dumb"}
    done = subprocess.run([sys.executable, "-m", "rldebug.cli", "doctor", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    return done.returncode, done.stdout, done.stderr


def blocks(text):
    return [line for line in text.splitlines()
            if line.startswith(("error[", "warning[", "info["))]


def test_console_report_fits_80_columns_and_leads_with_the_root_cause():
    code, out, err = cli_output(LR_05)
    assert code == 1, err
    too_wide = [line for line in out.splitlines() if len(line) > 80 and " " in line.strip()]
    assert not too_wide
    heads = blocks(out)
    assert heads[0].startswith("error[lr_too_high]") and len(heads) <= MAX_CAUSES
    assert "explains: kl_blowup" in out.replace("\n   ", "")
    for label in ("evidence: ", "fix: "):
        assert label in out
    # the counts include what is not shown: said so (a header of "1 warning" over infos
    # alone read as a contradiction)
    explained = sum(f.explained_by is not None for f in diagnose(LR_05).findings)
    assert f"({explained} of them explained by a finding above, not shown: --all shows" \
        in " ".join(out.split())


def test_all_shows_every_finding_with_its_cause():
    _code, out, _ = cli_output(LR_05, "--all")
    diagnosis = diagnose(LR_05)
    assert len(blocks(out)) == len(diagnosis.findings) > MAX_CAUSES
    assert "explained by: lr_too_high" in out
    assert "not shown: --all" not in " ".join(out.split())


def test_json_marks_explained_findings(capsys):
    assert main(["doctor", str(LR_05), "--json"]) == 1
    findings = json.loads(capsys.readouterr().out)["trials"][0]["findings"]
    assert all("explained_by" in f for f in findings)
    top = [f["rule_id"] for f in findings if f["explained_by"] is None]
    assert "lr_too_high" in top
    assert {f["explained_by"] for f in findings if f["rule_id"] == "kl_blowup"} == \
        {"lr_too_high"}


def test_html_report_renders_findings_and_plots_in_chromium(tmp_path):
    report = tmp_path / "report.html"
    code, out, err = cli_output(RUNS / "ppo_nan_reward_traced", "--html", report)
    assert code == 1, err
    assert f"HTML report: {report}" in out
    diagnosis = diagnose(RUNS / "ppo_nan_reward_traced")
    with open_page(report) as evaluate:
        rules = evaluate("[...document.querySelectorAll('section.finding')]"
                         ".map(s => s.dataset.rule)")
        images = evaluate("[...document.images].map(i => [i.complete, i.naturalWidth, "
                          "i.naturalHeight, i.closest('section').dataset.rule])")
        text = evaluate("document.body.innerText")
    assert sorted(rules) == sorted(f.rule_id for f in diagnosis.findings)
    assert len(images) == len(rules)
    assert all(complete and width > 300 and height > 100
               for complete, width, height, _ in images), images
    assert "non_finite_reward" in text and "Fix:" in text


def test_html_plot_marks_the_onset_for_every_family(tmp_path):
    for name in ("dqn_lr_1", "sac_target_entropy_high", "healthy_arena"):
        diagnosis = diagnose(RUNS / name)
        path = write_html(diagnosis, tmp_path / f"{name}.html")
        html = path.read_text()
        assert html.count("data:image/png;base64,") == len(diagnosis.findings)


def test_html_to_a_missing_directory_is_refused_before_any_work(tmp_path):
    code, _out, err = cli_output(LR_05, "--html", tmp_path / "missing" / "r.html")
    assert code == 2 and "does not exist" in err
    with pytest.raises(IsADirectoryError, match="is a directory"):
        write_html(diagnose(LR_05), tmp_path)
    with pytest.raises(TypeError, match="The HTML report's path must be a file name"):
        write_html(diagnose(LR_05), None)
    with pytest.raises(TypeError, match="to_html expects a Diagnosis"):
        write_html({"trials": []}, tmp_path / "r.html")


def test_html_to_a_file_that_cannot_be_written_is_a_usage_error():
    """A file the report cannot be written to (Linux lets no user, root included, create a
    file in /proc) exits 2 with the path and the reason, not 1 as a failed run does; an
    existing file that is no HTML page (/proc/version) is not even tried."""
    if not Path("/proc/version").is_file():
        pytest.skip("no /proc on this system")
    code, _out, err = cli_output(LR_05, "--html", "/proc/report.html")
    assert code == 2 and "'/proc/report.html': cannot write in '/proc' (" in err
    with pytest.raises(UsageError, match="cannot write in '/proc'"):
        write_html(diagnose(LR_05), "/proc/report.html")
    code, _out, err = cli_output(LR_05, "--html", "/proc/version")
    assert code == 2 and "names an existing file that is not an HTML page" in err



def test_html_writes_over_an_earlier_report_but_not_a_page_of_the_users(tmp_path):
    """An existing HTML page was overwritten whatever it was."""
    report = tmp_path / "report.html"
    assert cli_output(LR_05, "--html", str(report))[0] == 1  # findings
    assert cli_output(LR_05, "--html", str(report))[0] == 1  # its own page, written over
    mine = tmp_path / "mine.html"
    mine.write_text("<!DOCTYPE html><html><body>my notes</body></html>")
    code, _out, err = cli_output(LR_05, "--html", str(mine))
    assert code == 2 and "is not an HTML page rldebug wrote" in err
    assert "my notes" in mine.read_text()


def test_render_rejects_a_non_bool_show_all():
    from rldebug.doctor import render

    with pytest.raises(TypeError, match=r"render\(show_all=...\) must be True or False"):
        render(diagnose(LR_05), show_all="yes")


def test_print_gives_the_report_and_in_memory_findings_say_how_to_try_a_fix():
    """A notebook user's ``print(diagnose(results))``: the console report as text, whose
    fix to verify says how to apply it (there is no RUN for ``--verify``)."""
    from doctor_streams import new_result

    results = [new_result(1, {"pol1": {"kl": 0.01}}),
               new_result(2, {"pol1": {"kl": float("inf"), "total_loss": float("nan")}})]
    text = str(diagnose(results, config={"lr": 0.5}))
    assert text.startswith("results: broken (2 iterations, new API stack")
    assert "error[lr_too_high] pol1" in text and "\x1b[" not in text
    assert "verify: lr=3e-05 or lr=3e-06 (config.update_from_dict(...) applies one" in text
    assert "rldebug doctor RUN --verify" not in text
    on_disk = str(diagnose(LR_05))
    assert "rldebug doctor RUN --verify trains them" in on_disk


def test_an_unreadable_trial_is_called_so_on_the_page_too(tmp_path):
    from rldebug.doctor.html import to_html

    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "result.json").write_text("")
    page = to_html(diagnose(tmp_path / "empty"))
    assert '<h2 class="trial">empty: unreadable</h2>' in page


def test_html_report_shows_the_fix_to_verify_as_the_console_does(tmp_path):
    from rldebug.doctor.report import verify_text

    diagnosis = diagnose(LR_05)
    top = diagnosis.trials[0].causes[0]
    assert top.fix_config  # lr_too_high: lower rates to train beside the run
    path = write_html(diagnosis, tmp_path / "lr.html")
    with open_page(path) as evaluate:
        said = evaluate(f"document.querySelector('section.finding[data-rule=\"{top.rule_id}\"] "
                        "p.verify').innerText")
    assert said == f"Verify: {verify_text(top)}"
    assert "rldebug doctor RUN --verify trains them beside the original" in said


# What a new user found confusing in reports on runs of their own (the detection is the
# benchmark's to measure; these are the words around it), on stored benchmark runs.
FAULT_RUNS = Path(__file__).parent / "doctor_faults" / "runs"


def test_a_finding_does_not_list_its_own_rules_weaker_twin_as_explained():
    """An error listed "explains: kl_blowup default_policy (it. 1)" under kl_blowup: its
    own warning, which it outranks, read as the error explaining itself."""
    trial = diagnose(FAULT_RUNS / "impala_cartpole__lr_x100__s0").trials[0]
    twins = [f for f in trial.findings if f.explained_by == f.rule_id]
    assert twins  # the run has a weaker finding of a rule that also fired stronger
    for cause in trial.causes:
        assert all(f.rule_id != cause.rule_id for f in trial.explained_by(cause))


def test_a_converged_entropy_collapse_does_not_tell_to_lower_the_lr():
    """Info that the policy converged once its return was the best seen said "Lower lr
    10-100x ... ignore this warning"."""
    trial = diagnose(FAULT_RUNS / "appo_goal__grad_clip_tiny__s0").trials[0]
    [converged] = [f for f in trial.findings if f.rule_id == "entropy_collapse"
                   and "converged" in f.message]
    assert converged.severity == "info"
    assert converged.fix.startswith("Nothing, if that return is what the task allows.")
    assert "lr" not in converged.fix.lower() and "warning" not in converged.fix


def test_reward_scale_names_vf_clip_param_only_for_ppo():
    """SAC's report said the rewards "saturate PPO's vf_clip_param"."""
    sac = diagnose(FAULT_RUNS / "sac_pendulum__reward_x1000__s0").trials[0]
    [scale] = [f for f in sac.findings if f.rule_id == "reward_scale"]
    assert "vf_clip_param" not in scale.message + scale.fix
    ppo = diagnose(FAULT_RUNS / "ppo_pendulum__reward_x1000__s0").trials[0]
    [scale] = [f for f in ppo.findings if f.rule_id == "reward_scale"]
    assert "PPO's vf_clip_param" in scale.message and "raise vf_clip_param" in scale.fix


def test_a_trial_that_failed_before_its_first_result_still_names_its_api_stack(tmp_path):
    """`"stack": null` for a trial that crashed in its first iteration: the stack is in
    its params.json, which every run writes before it builds."""
    import shutil

    run = shutil.copytree(FAULT_RUNS / "ppo_cartpole__obs_zeroed__s0", tmp_path / "run",
                          ignore=shutil.ignore_patterns("trace"))
    (run / "result.json").write_text("")
    (run / "error.txt").write_text("Failure # 1 (occurred at 2026-12-05_16-00-00)\n"
                                   "Traceback (most recent call last):\n"
                                   "ValueError: the env failed at step 500\n")
    (trial,) = diagnose(run).trials
    assert trial.iterations == 0 and trial.stack == "new"
    assert [f.rule_id for f in trial.findings] == ["trial_errored"]
