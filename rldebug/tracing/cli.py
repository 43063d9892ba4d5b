"""``rldebug trace DIR``: per-iteration tables of what was sampled and learned;
``rldebug profile DIR``: where each process's time and memory went."""

from __future__ import annotations

import argparse
import json
import math
import warnings
from pathlib import Path

from rich.console import Console
from rich.table import Table

from rldebug.htmlfile import html_option
from rldebug.tracing.reading import Trace, TraceDamagedWarning, damaged_lines_text, load_trace
from rldebug.usage import UsageError, json_text, output_path
from rldebug.widetables import print_table


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"  # nan and inf as such: they are what a value was
    if isinstance(value, (list, tuple)):
        return ", ".join(map(_fmt, value)) or "-"
    return str(value)


def _cell(value) -> str:
    """A table cell: a column an event lacks (NaN in the table) is '-'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return _fmt(value)


def _value(event) -> str:
    """A non-finite value an event recorded, NaN and inf as such (a reward's, or a
    learner column's); '-' for events that record none (the table's NaN)."""
    value = event.get("value")
    records_one = event.get("column") == "rewards" or event.get("source") == "learner"
    return _fmt(value) if records_one and value is not None else _cell(value)


def render_trace(trace: Trace, console: Console | None = None, last: int = 10) -> None:
    """Print the events first (numbered as ``rldebug reproduce`` takes them), then
    per-iteration sampling and learning tables."""
    from rldebug.tracing.layout import replay_config_file

    console = console or Console()
    if not trace.events.empty:
        columns = [c for c in ("iteration", "source", "runner_index", "runner_indices",
                               "agent_id", "module_id", "column", "episode_id", "timestep",
                               "env_step", "sample_call", "update", "minibatch",
                               "index_in_batch", "value", "error", "message")
                   if c in trace.events]
        rows = [[str(number), *(_cell(row.get(c)) if c != "value" else _value(row)
                                for c in columns)]
                for number, (_, row) in enumerate(trace.events.iterrows(), start=1)]
        print_table(console, "Events: the first NaN/Inf per source and column, crashes, "
                             "restarts, info and break_on events", ["#"], columns, rows,
                    style="red")
        if replay_config_file(trace.directory).is_file():
            console.print(f"Reproducible: replay event # to its step with rldebug reproduce "
                          f"{trace.directory} --event #")
    _say_skipped(trace, console)
    samples = trace.samples
    if not samples.empty:
        table = Table(title="Sampling per iteration and runner")
        for name in ("iter", "runner", "pid", "calls", "env steps", "episodes done",
                     "reward sum"):
            table.add_column(name, justify="right")
        grouped = list(samples.groupby(["iteration", "runner_index", "pid"], sort=True))
        shown = set(sorted({key[0] for key, _ in grouped})[-last:])  # the last iterations
        for (iteration, runner, pid), group in [g for g in grouped if g[0][0] in shown]:
            rewards = {}
            for sums in group["reward_sum"]:
                for key, value in (sums or {}).items():
                    rewards[key] = rewards.get(key, 0.0) + value
            table.add_row(str(iteration), str(runner), str(pid), str(len(group)),
                          str(int(group["env_steps"].sum())),
                          str(int(group["episodes_finished"].sum())),
                          ", ".join(f"{k} {v:.1f}" for k, v in sorted(rewards.items())))
        console.print(table)
    updates = trace.updates
    if not updates.empty:
        columns = [c for c in ("policy_loss", "value_loss", "q_loss", "entropy", "kl",
                               "clip_fraction", "importance_ratio_mean", "td_error_mean",
                               "q_mean", "alpha", "grad_norm", "param_update_norm", "lr")
                   if c in updates]
        means = updates.groupby(["iteration", "module_id"])[columns].mean(numeric_only=True)
        shown = set(sorted({iteration for iteration, _ in means.index})[-last:])
        rows = [[str(iteration), str(module), *(_cell(row[c]) for c in columns)]
                for (iteration, module), row in means.iterrows() if iteration in shown]
        print_table(console, "Learning per iteration and module", ["iter", "module"], columns,
                    rows)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def _add_trace(subparsers) -> None:
    parser = subparsers.add_parser("trace", help="show a trace written by rldebug.trace()")
    parser.add_argument("directory", help="the out= directory of rldebug.trace")
    parser.add_argument("--last", type=_positive_int, default=10, help="iterations to show")
    parser.set_defaults(func=cmd_trace)


def _read(directory: str) -> Trace:
    """The trace; no trace there, or files without one readable record, is unusable
    input (exit 2)."""
    with warnings.catch_warnings():  # the rendering says it, in its place
        warnings.simplefilter("ignore", TraceDamagedWarning)
        trace = load_trace(directory)
    tables = (trace.samples, trace.updates, trace.minibatches, trace.events, trace.iterations)
    if all(table.empty for table in tables) and (trace.corrupt_lines or trace.truncated_lines):
        raise UsageError(f"{directory!r} holds trace files but no readable record: "
                         f"{_skipped_text(trace)}. Trace the run again.")
    return trace


def _say_skipped(trace: Trace, console: Console) -> None:
    text = _skipped_text(trace)
    if text:
        console.print(f"[yellow]{text[:1].upper()}{text[1:]}.[/yellow]")


def _skipped_text(trace: Trace) -> str:
    """What reading the trace skipped, or ''."""
    said = []
    if trace.truncated_lines:
        said.append(f"{trace.truncated_lines} truncated line(s) skipped (a process was "
                    "killed mid-write)")
    if trace.corrupt_lines:
        said.append(f"skipped lines that are not trace records: "
                    f"{damaged_lines_text(trace.corrupt_lines)}; the files were changed or "
                    "damaged")
    return "; ".join(said)


def cmd_trace(args: argparse.Namespace) -> int:
    trace = _read(args.directory)
    render_trace(trace, last=args.last)
    return 0


def _add_profile(subparsers) -> None:
    parser = subparsers.add_parser(
        "profile", help="where each process of a traced run spent its time and memory",
        description="Per process of a run traced with rldebug.trace (driver, each EnvRunner, "
                    "each Learner): traced wall time split into sample(), updates and the "
                    "rest, and its memory (RSS). --chrome-trace writes the spans as Chrome "
                    "trace-event JSON for Perfetto (ui.perfetto.dev) or chrome://tracing; "
                    "--html a page with a timeline per process.")
    parser.add_argument("directory", help="the out= directory of rldebug.trace (or a run's "
                                          "logdir; a run with no trace: RLlib's own timers)")
    parser.add_argument("--json", action="store_true", help="print the profile as JSON")
    parser.add_argument("--chrome-trace", metavar="FILE", default=None,
                        help="also write the spans as Chrome trace-event JSON to FILE")
    parser.add_argument("--html", metavar="FILE", default=None,
                        help="also write a page with a timeline per process, memory and "
                             "the parts of sample() and the updates to FILE")
    parser.set_defaults(func=cmd_profile)


# how the console names the parts of sample() and of an update
_PART_LABELS = {"env": "env", "env_to_module": "env->module", "forward": "forward",
                "module_to_env": "module->env", "weight_pull": "weight pull", "loss": "loss",
                "backward": "backward", "optimizer": "optimizer", "batch": "batch/connector",
                "trace": "rldebug"}


def _seconds(seconds: float) -> str:
    return f"{seconds:.{2 if seconds < 10 else 1}f} s"


def _parts_text(parts: dict[str, float], total: float, env_reset: float | None = None) -> str:
    """``env 1.2 s (40%; reset 0.3 s), forward ..., other ...``: shares of ``total``, the
    rest as other."""
    shown = {part: seconds for part, seconds in parts.items() if part in _PART_LABELS
             and (seconds or part != "weight_pull")}  # only APPO/IMPALA's runners wait
    if not shown or not total:
        return "-"
    shown["other"] = max(total - sum(shown.values()), 0.0)
    return ", ".join(
        f"{_PART_LABELS.get(part, part)} {_seconds(seconds)} ({seconds / total:.0%}"
        + (f"; reset {_seconds(env_reset)}" if part == "env" and env_reset else "") + ")"
        for part, seconds in shown.items())


def render_profile(summary, console: Console | None = None) -> None:
    console = console or Console()
    columns = ["host", "wall s", "sample() s", "calls", "update s", "updates", "other s",
               "RSS MiB first -> last (max)"]
    rows = []
    inside = Table(title="Inside sample() and the updates")
    for name in ("process", "sample()", "update", "waited between updates s"):
        inside.add_column(name, justify="right" if name.endswith(" s") else "left")
    for p in summary.processes:
        def share(part: float, wall: float = p.wall_s) -> str:
            return f"{part:.1f} ({part / wall:.0%})" if wall else f"{part:.1f}"

        memory = ("-" if p.rss_first_mb is None else
                  f"{p.rss_first_mb:.0f} -> {p.rss_last_mb:.0f} ({p.rss_max_mb:.0f})")
        name = f"{', '.join(p.roles)} (pid {p.pid})"
        rows.append([name, p.host, f"{p.wall_s:.1f}", share(p.sample_s), str(p.sample_calls),
                     share(p.update_s), str(p.updates), share(p.other_s), memory])
        wait = p.update_wait_s
        if p.sample_parts_s or p.update_parts_s:
            inside.add_row(name, _parts_text(p.sample_parts_s, p.sample_s, p.env_reset_s),
                           _parts_text(p.update_parts_s, p.update_s),
                           "-" if wait is None else f"{wait:.1f}")
    print_table(console, f"Where the time went ({summary.iterations} iterations traced)",
                ["process"], columns, rows, left=("process", "host"))
    if inside.row_count:
        console.print(inside)
    for note in summary.failures + summary.caveats:
        console.print(f"[yellow]{note}[/yellow]", highlight=False)


def _chrome_trace_target(value: str) -> Path:
    """The --chrome-trace file: a new file, or an earlier Chrome trace, in an existing
    folder (never a file of the trace it reads)."""
    try:
        return output_path(value, "--chrome-trace", "a Chrome trace", example="trace.json")
    except OSError as err:  # a folder, or a file in a missing folder
        raise UsageError(f"--chrome-trace {value!r}: {err}") from None


def _run_trials(directory: str) -> list:
    """The trials (read whole) of a run folder that is not itself traced: one trial or
    rldebug run logdir without a trace, or a folder of several trials (some may be
    traced, in their own ``trace`` folders); [] for anything else."""
    from rldebug.doctor.reading import UnusableInputError, read_experiment
    from rldebug.tracing.layout import trace_dir_of, trace_files, trial_trace_dirs

    path = Path(directory).expanduser()
    if not path.is_dir() or trace_files(path) or trace_dir_of(path) is not None or \
            trial_trace_dirs(path):
        return []
    try:
        return read_experiment(path, whole=True)
    except UnusableInputError:
        return []


def _profile_untraced(args: argparse.Namespace, trials: list) -> int:
    """RLlib's own timers of each trial of a run folder with no trace of its own."""
    from rldebug.tracing.layout import trace_dir_of
    from rldebug.tracing.rllib_timers import rllib_time, rllib_time_lines

    traced = [trial for trial in trials if trace_dir_of(trial.path) is not None]
    traced_paths = {trial.path for trial in traced}
    if not any(trial.results for trial in trials):
        notes = "; ".join(note for trial in trials for note in trial.notes)[:600]
        raise UsageError(f"{args.directory!r} holds no trace and no readable result"
                         + (f" ({notes})" if notes else "") + ": nothing to profile. Pass a "
                         "run that trained for at least one iteration, or its trace.")
    if args.chrome_trace is not None or args.html is not None:
        option = "--chrome-trace" if args.chrome_trace is not None else "--html"
        if traced:
            shown = ", ".join(str(t.path) for t in traced[:4]) + \
                (", ..." if len(traced) > 4 else "")
            raise UsageError(f"{args.directory!r} holds {len(trials)} trials; {option} draws "
                             f"one traced run's spans: pass one of its traced trials "
                             f"({shown}).")
        raise UsageError(f"{args.directory!r} holds no trace: {option} draws a trace's "
                         "spans. Trace the run (rldebug.trace(config, out=...), or "
                         "rldebug.run(..., trace='summary')), or leave the option out to "
                         "see RLlib's own timers.")
    times = {trial.name: rllib_time(trial.results, restored=bool(trial.restored_at))
             for trial in trials}
    if args.json:
        print(json_text({"source": "RLlib's timers in result.json", "trials": {
            trial.name: {"traced": trial.path in traced_paths,
                         "timers": None if times[trial.name] is None
                         else times[trial.name].to_dict()} for trial in trials}}, indent=1))
        return 0
    if len(trials) == 1 and not traced:
        print(f"No trace in {args.directory}: what RLlib's own timers in result.json say "
              "(RLlib's averages, one process's view; rldebug.trace the run for each "
              "process's own time and memory).")
    else:
        print(f"{len(trials)} trial(s) in {args.directory}: what RLlib's own timers in each "
              "result.json say (RLlib's averages, one process's view; a traced trial's "
              "own profile: rldebug profile TRIAL).")
    for trial in trials:
        time = times[trial.name]
        if len(trials) > 1 or traced:
            print(f"\n{trial.name}" + (f" (traced: rldebug profile {trial.path})"
                                         if trial.path in traced_paths else ""))
        for line in (["  no result with time_this_iter_s"] if time is None
                     else rllib_time_lines(time)):
            print(line)
        for note in trial.notes:  # lines the reader skipped, a restore, ...
            print(f"  note: {note}")
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from rldebug.tracing.profile import chrome_trace, profile

    if args.chrome_trace is not None:  # both outputs checked before anything is written
        _chrome_trace_target(args.chrome_trace)
    html_option(args.html, example="profile.html")
    trials = _run_trials(args.directory)
    if trials:
        return _profile_untraced(args, trials)
    trace = _read(args.directory)
    summary = profile(trace)
    page = None
    if args.html:
        from rldebug.tracing.profile_html import write_html

        page = write_html(trace, args.html, title=args.directory)
    if args.chrome_trace is not None:
        _chrome_trace_target(args.chrome_trace).write_text(json.dumps(chrome_trace(trace)))
    if args.json:
        print(json_text({**summary.to_dict(), "skipped": _skipped_text(trace) or None},
                        indent=1))
    else:
        render_profile(summary)
        _say_skipped(trace, Console())
        if args.chrome_trace:
            print(f"Chrome trace: {args.chrome_trace} (open it in ui.perfetto.dev or "
                  "chrome://tracing)")
        if page is not None:
            print(f"HTML: {page}")
    return 0


def add_commands(subparsers) -> None:
    """Register ``trace`` and ``profile`` on ``parser.add_subparsers()``."""
    _add_trace(subparsers)
    _add_profile(subparsers)


__all__ = ["add_commands", "render_profile", "render_trace"]
