"""A small Flux tokenizer and pipeline checker for the Grafana dashboards' queries (tests only).

Not a Flux implementation: enough to catch what breaks a panel silently — unbalanced brackets, an
empty or malformed ``|>`` stage, a query that does not start ``from(bucket:) |> range(start:) |>
filter(...)``, and the measurements and fields its filters name (so a test can hold them against what
the telemetry sink writes). Grafana's ``${var}`` placeholders are tokens of their own.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>//[^\n]*)
  | (?P<string>"(?:\\.|[^"\\])*")
  | (?P<var>\$\{[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z]+)?\})
  | (?P<duration>-?\d+(?:ns|us|ms|mo|[smhdwy])(?:\d+(?:ns|us|ms|mo|[smhdwy]))*)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\|>|=>|==|!=|=~|!~|>=|<=|[-+*/<>=%])
  | (?P<punct>[()\[\]{},:.])
    """,
    re.VERBOSE,
)
REGEX_RE = re.compile(r"/(?:\\.|[^/\\\n])+/")
PAIRS = {")": "(", "]": "[", "}": "{"}


class FluxError(ValueError):
    """The query is malformed (the message says where)."""


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    at: int


@dataclass
class Query:
    """What a checked query reads."""

    stages: list[str] = field(default_factory=list)  # function names in pipe order
    measurements: set[str] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)
    field_prefixes: set[str] = field(default_factory=set)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        if tokens and tokens[-1].text in ("=~", "!~") and (m := REGEX_RE.match(text, i)):
            tokens.append(Token("regex", m.group(), i))
            i = m.end()
            continue
        m = TOKEN_RE.match(text, i)
        if m is None:
            raise FluxError(f"unexpected {text[i]!r} at {i}")
        kind = m.lastgroup or ""
        if kind not in ("space", "comment"):
            tokens.append(Token(kind, m.group(), i))
        i = m.end()
    return tokens


def check_brackets(tokens: list[Token]) -> None:
    stack: list[Token] = []
    for token in tokens:
        if token.text in ("(", "[", "{"):
            stack.append(token)
        elif token.text in PAIRS:
            if not stack or stack[-1].text != PAIRS[token.text]:
                raise FluxError(f"unbalanced {token.text!r} at {token.at}")
            stack.pop()
    if stack:
        raise FluxError(f"unclosed {stack[-1].text!r} at {stack[-1].at}")


def split_pipes(tokens: list[Token]) -> list[list[Token]]:
    """The pipeline's stages: split at ``|>`` outside any bracket."""
    stages: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        depth += token.text in ("(", "[", "{")
        depth -= token.text in (")", "]", "}")
        if token.text == "|>" and depth == 0:
            stages.append([])
        else:
            stages[-1].append(token)
    return stages


def call_name(stage: list[Token]) -> str:
    """``name(…)`` or ``pkg.name(…)`` and nothing after the closing bracket; its name."""
    if not stage:
        raise FluxError("an empty |> stage")
    i, name = 1, stage[0].text
    if stage[0].kind != "ident":
        raise FluxError(f"a stage must call a function, found {stage[0].text!r} at {stage[0].at}")
    if len(stage) > 2 and stage[1].text == "." and stage[2].kind == "ident":
        i, name = 3, f"{name}.{stage[2].text}"
    if len(stage) <= i or stage[i].text != "(" or stage[-1].text != ")":
        raise FluxError(f"stage {name!r} is not a call at {stage[0].at}")
    return name


def named_args(stage: list[Token]) -> set[str]:
    """Argument names at the call's top level (``bucket`` in ``from(bucket: …)``)."""
    names, depth = set(), 0
    for prev, token in itertools.pairwise(stage):
        depth += prev.text in ("(", "[", "{")
        depth -= prev.text in (")", "]", "}")
        if depth == 1 and token.text == ":" and prev.kind == "ident":
            names.add(prev.text)
    return names


def _reads(stage: list[Token], query: Query) -> None:
    for a, b, c, d, e in zip(stage, stage[1:], stage[2:], stage[3:], stage[4:], strict=False):
        if a.text != "r" or b.text != ".":
            continue
        if c.text == "_measurement" and d.text == "==" and e.kind == "string":
            query.measurements.add(e.text[1:-1])
        elif c.text == "_field" and d.text == "==" and e.kind == "string":
            query.fields.add(e.text[1:-1])
        elif c.text == "_field" and d.text == "=~" and e.kind == "regex":
            prefix = re.match(r"/\^([A-Za-z0-9_]+)", e.text)
            if prefix is None:
                raise FluxError(f"a _field regex must start with ^prefix, got {e.text}")
            query.field_prefixes.add(prefix.group(1))


def check_query(text: str) -> Query:
    """Check a panel query: ``from(bucket:) |> range(start:) |> filter(…)`` then any calls."""
    tokens = tokenize(text)
    check_brackets(tokens)
    stages = split_pipes(tokens)
    query = Query(stages=[call_name(stage) for stage in stages])
    if query.stages[:3] != ["from", "range", "filter"]:
        raise FluxError(f"a query must go from → range → filter, got {' → '.join(query.stages[:3])}")
    if "bucket" not in named_args(stages[0]):
        raise FluxError("from() needs bucket:")
    if "start" not in named_args(stages[1]):
        raise FluxError("range() needs start:")
    for name, stage in zip(query.stages, stages, strict=True):
        if name == "filter":
            _reads(stage, query)
    if not query.measurements:
        raise FluxError("no filter names a measurement")
    return query


def check_variable_query(text: str) -> dict[str, str]:
    """A template variable's query (``import …`` then ``schema.…(measurement: "x", tag: "y")``);
    its string arguments by name."""
    tokens = tokenize(text)
    check_brackets(tokens)
    while tokens and tokens[0].text == "import":
        if len(tokens) < 2 or tokens[1].kind != "string":
            raise FluxError("import needs a package path")
        tokens = tokens[2:]
    call_name(tokens)
    return {
        name.text: value.text[1:-1]
        for name, colon, value in zip(tokens, tokens[1:], tokens[2:], strict=False)
        if name.kind == "ident" and colon.text == ":" and value.kind == "string"
    }
