"""Rendering of :class:`AlgoSummary` and :class:`Explanation`: rich console and HTML.

The inspectors return data; this module only draws it.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np


def _fmt_space(space: Any) -> str:
    return "—" if space is None else str(space)


def _fmt_layer_shape(layer) -> str:
    if layer.in_features is not None and layer.out_features is not None:
        return f"{layer.in_features} → {layer.out_features}"
    return ", ".join(f"{k} {tuple(v)}" for k, v in layer.param_shapes.items()) or "—"


def _fmt_trainable(flag: bool | None) -> str:
    return "" if flag is None else ("yes" if flag else "frozen")


def _module_rows(module) -> list[tuple[str, str]]:
    return [
        ("agents", ", ".join(map(str, module.agents)) or "none mapped"),
        ("class", module.module_class),
        ("env observation space", _fmt_space(module.raw_observation_space)),
        ("module observation space", _fmt_space(module.observation_space)),
        ("action space", _fmt_space(module.action_space)),
        ("action distribution", str(module.action_distribution)),
        ("parameters", f"{module.num_params:,} ({module.num_trainable_params:,} trainable)"),
        ("learning rate", "—" if module.lr is None else f"{module.lr:g}"),
        ("trained", "yes" if module.trainable else "no (not in policies_to_train)"),
        ("value function", module.value_function or "no"),
    ]


def _agents_text(agents: dict) -> str:
    """"agent1 → pol1, 0 → main | opponent (per episode)"."""
    return ", ".join(
        f"{a} → {' | '.join(map(str, m))} (per episode)" if isinstance(m, list)
        else f"{a} → {m}" for a, m in agents.items()) or "none"


def summary_renderable(summary):
    """A rich Group: a header, then per module a facts table and a layer table."""
    from rich.console import Group
    from rich.table import Table

    parts: list = [
        (f"[bold]{summary.algo_class}[/bold] on [bold]{summary.env}[/bold] "
         f"({summary.api_stack} API stack)"),
        "agents → modules: " + _agents_text(summary.agents),
        "observation connectors: " + (" → ".join(summary.connectors) or "none"),
    ]
    if summary.mapping_error:
        parts.append(f"[yellow]mapping: {summary.mapping_error}[/yellow]")
    for module in summary.modules.values():
        facts = Table(title=f"module {module.module_id}", show_header=False, title_justify="left")
        facts.add_column(style="bold")
        facts.add_column()
        for key, value in _module_rows(module):
            facts.add_row(key, value)
        layers = Table("layer", "type", "shape", "params", "trainable")
        for layer in module.layers:
            layers.add_row(layer.name, layer.kind, _fmt_layer_shape(layer),
                           f"{layer.num_params:,}", _fmt_trainable(layer.trainable))
        parts += [facts, layers]
    return Group(*parts)


def _html_table(header: list[str] | None, rows: list[list[Any]]) -> str:
    head = ("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"
            if header else "")
    body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{html.escape(str(c))}</td>"
                                    for c in row) + "</tr>" for row in rows)
    return f"<table>{head}{body}</table>"


def summary_html(summary) -> str:
    """The summary as an HTML fragment for Jupyter."""
    out = [(f"<h4>{html.escape(summary.algo_class)} on {html.escape(summary.env)} "
            f"({summary.api_stack} API stack)</h4>"),
           "<p>agents → modules: " + html.escape(_agents_text(summary.agents)) + "<br>",
           "observation connectors: " + html.escape(" → ".join(summary.connectors) or "none")
           + "</p>"]
    if summary.mapping_error:
        out.append(f"<p><b>mapping:</b> {html.escape(summary.mapping_error)}</p>")
    for module in summary.modules.values():
        out.append(f"<h5>module {html.escape(str(module.module_id))}</h5>")
        out.append(_html_table(None, [list(row) for row in _module_rows(module)]))
        out.append(_html_table(
            ["layer", "type", "shape", "params", "trainable"],
            [[layer.name, layer.kind, _fmt_layer_shape(layer), f"{layer.num_params:,}",
              _fmt_trainable(layer.trainable)] for layer in module.layers]))
    return "".join(out)


def _action_label(explanation, action: Any) -> str:
    names = explanation.action_names
    if names is not None and np.ndim(action) == 0:
        return f"{int(action)} ({names[int(action)]})"
    values = np.asarray(action)
    if values.dtype.kind == "f":  # a continuous action: 4 significant digits, not 17
        return np.array2string(values, precision=4, separator=", ", suppress_small=True)
    return str(values.tolist())


def _explanation_rows(e) -> list[list[str]]:
    """One row per action (discrete: logit or Q, probability) or per Gaussian dimension."""
    if e.probs is None and e.mean is not None:
        mean, std = np.atleast_1d(e.mean), np.atleast_1d(e.std)
        return [[str(i), f"{mean[i]:+.4f}", f"{std[i]:.4f}"] for i in range(len(mean))]
    scores = np.asarray(e.q_values if e.q_values is not None else e.logits)
    if e.probs is None:
        return [[str(i), f"{v:+.4f}", ""] for i, v in enumerate(np.ravel(scores))]
    if e.action_parts:  # MultiDiscrete: "part 0 = 2" for each value of each part
        labels = [f"part {part} = {value}" for part, size in enumerate(e.action_parts)
                  for value in range(size)]
    else:
        labels = [f"{i} {e.action_names[i]}" if e.action_names else str(i)
                  for i in range(len(scores))]
    return [[labels[i], f"{scores[i]:+.4f}", f"{e.probs[i]:.4f}"] for i in range(len(scores))]


def _action_header(e) -> list[str]:
    if e.probs is None and e.mean is not None:
        return ["dimension", "mean", "std"]
    if e.q_values is not None:
        return ["action", "Q-value", "probability"]
    return ["action", "logit", "probability"]


def _number(value: Any) -> str:
    return "—" if value is None else f"{float(np.asarray(value)):.4f}"


def _explanation_facts(e) -> list[list[str]]:
    entropy = _number(e.entropy) + (
        f" ± {_number(e.entropy_stderr)} (estimated from samples)" if e.entropy_is_estimate
        else "")
    rows = [
        ["agent → module", f"{e.agent_id} → {e.module_id} ({e.api_stack} stack, {e.family})"],
        ["observation", short_value(e.observation)],
        ["module input", short_value(e.module_input)],
        ["distribution", str(e.distribution)],
        ["greedy action", _action_label(e, e.greedy_action)],
    ]
    if e.greedy_env_action is not None and not np.array_equal(
            np.asarray(e.greedy_env_action), np.asarray(e.greedy_action)):
        rows.append(["greedy, as the env gets it", short_value(e.greedy_env_action)])
    rows.append(["sampled action", _action_label(e, e.sampled_action)])
    if e.env_action is not None and not np.array_equal(np.asarray(e.env_action),
                                                         np.asarray(e.sampled_action)):
        rows.append(["sampled, as the env gets it", short_value(e.env_action)])
    rows += [["log-prob of the sample", _number(e.log_prob)], ["entropy", entropy]]
    if e.epsilon is not None:
        rows.append(["epsilon (exploration)", f"{e.epsilon:.4f}"])
    if e.q_value is not None:
        rows.append(["Q(s, sampled action)", _number(e.q_value)])
    if e.alpha is not None:
        rows.append(["alpha (entropy temperature)", f"{e.alpha:.4f}"])
    value_label = {"q_learning": "value (max Q)",  # discrete SAC's value is its max Q too
                   "actor_critic": "value (max Q)" if e.q_values is not None
                   else "value (Q of the greedy action)"}.get(e.family, "value")
    rows.append([value_label, _number(e.value)])
    rows += [["note", note] for note in e.notes]
    return rows


def _tuple_value(value) -> bool:
    """A Tuple space's value: a tuple, or a list whose parts make no one array."""
    if isinstance(value, tuple):
        return True
    if not isinstance(value, list):
        return False
    try:
        np.asarray(value, dtype=float)
    except (ValueError, TypeError):
        return True
    return False


def short_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {short_value(v)}" for k, v in value.items()) + "}"
    if _tuple_value(value):  # parts of other shapes
        return "(" + ", ".join(short_value(v) for v in value) + ")"
    arr = np.asarray(value)
    nonzero = np.flatnonzero(arr)
    if arr.size > 12 and len(nonzero) <= 8:
        return f"shape {arr.shape}, non-zero at {nonzero.tolist()}"
    if arr.size > 12:
        return f"shape {arr.shape}, {np.array2string(arr.ravel()[:6], precision=3)}…"
    return np.array2string(arr, precision=4)


def _batch_rows(e) -> list[list[str]]:
    rows = []
    for i in range(len(e)):
        one = e[i]
        value = "—" if one.value is None else f"{float(np.asarray(one.value)):.3f}"
        probs = "" if one.probs is None else np.array2string(np.asarray(one.probs), precision=3)
        rows.append([str(i), short_value(one.observation),
                     _action_label(one, one.greedy_action), probs,
                     f"{float(np.asarray(one.entropy)):.3f}", value])
    return rows


_BATCH_HEADER = ["#", "observation", "greedy", "probs", "entropy", "value"]


def explanation_renderable(e):
    """A rich table (per action for one observation, per observation for a batch)."""
    from rich.console import Group
    from rich.table import Table

    if e.batched:
        table = Table(*_BATCH_HEADER, title=f"{e.agent_id} → {e.module_id}: {len(e)} observations")
        for row in _batch_rows(e):
            table.add_row(*row)
        return table
    facts = Table(show_header=False)
    facts.add_column(style="bold")
    facts.add_column()
    for row in _explanation_facts(e):
        facts.add_row(*row)
    actions = Table(*_action_header(e))
    for row in _explanation_rows(e):
        actions.add_row(*row)
    return Group(facts, actions)


def explanation_html(e) -> str:
    """The explanation as an HTML fragment for Jupyter."""
    if e.batched:
        return _html_table(_BATCH_HEADER, _batch_rows(e))
    return (_html_table(None, _explanation_facts(e))
            + _html_table(_action_header(e), _explanation_rows(e)))


def to_text(obj) -> str:
    """Plain-text rendering (``str()``) through rich, without colours."""
    from rich.console import Console

    console = Console(width=110, color_system=None, record=True, file=_Null())
    console.print(obj)
    return console.export_text()


class _Null:
    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        pass
