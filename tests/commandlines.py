"""Find `runner ...` command lines in shell scripts and markdown, and check them against the click tree.

A line is checked the way click would parse it: the subcommand must exist, every option must
be one of that command's, option values must convert, and required arguments must be there.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

import click

OPERATORS = {"&&", "||", ";", "|", "(", ")", "&", ";;", "|&", "{", "}"}
PREFIXES = {"then", "do", "else", "elif", "if", "while", "until", "!", "time", "exec", "command", "run:", "entry:"}
REDIRECTION = re.compile(r"(?<!\S)\d*(>>|>&|&>|>|<)")
FENCE = re.compile(r"^(```|~~~)(\w*)\s*$")
INLINE = re.compile(r"`([^`\n]+)`")


def logical_lines(script: str) -> Iterator[str]:
    """Shell lines with backslash continuations joined."""
    pending = ""
    for raw in script.splitlines():
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        yield pending + raw
        pending = ""
    if pending:
        yield pending


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(REDIRECTION.sub(r" \1 ", line), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes: not a shell line (prose, YAML flow text)
        return []


def invocations(script: str) -> list[list[str]]:
    """Each `runner ...` call in shell text, as its arguments (without `runner`)."""
    found = []
    for line in logical_lines(script):
        tokens = _tokens(line.strip().removeprefix("$ ").removeprefix("- "))
        for i, token in enumerate(tokens):
            at_start = i == 0 or tokens[i - 1] in OPERATORS | PREFIXES or "=" in tokens[i - 1]
            if token == "runner" and at_start:
                found.append(_until_operator(tokens[i + 1 :]))
    return found


def _until_operator(tokens: list[str]) -> list[str]:
    args = []
    for token in tokens:
        if token in OPERATORS or set(token) <= set("<>&"):
            break
        args.append(token)
    return args


def markdown_shell(text: str) -> Iterator[tuple[str, bool]]:
    """Code blocks (other than json/text output), and inline code spans that start with `runner `.

    Each comes with whether it is complete: a code block is a command to run, while prose names
    commands without their arguments ("`runner apply` refuses...").
    """
    block: list[str] | None = None
    skip = False
    for line in text.splitlines():
        fence = FENCE.match(line.strip())
        if fence and block is None:
            block, skip = [], fence.group(2) in ("json", "text")
            continue
        if fence and block is not None:
            if not skip:
                yield "\n".join(block), True
            block = None
            continue
        if block is not None:
            block.append(line)
            continue
        for span in INLINE.findall(line):
            if span.startswith("runner "):
                yield span, False


def problem(args: list[str], complete: bool = True) -> str | None:
    """Why click would refuse `runner ARGS`, or None when it parses.

    Not `complete` (a command named in prose): a bare command path like `runner apply` is
    fine; anything with arguments is checked in full.
    """
    from runner.cli import app

    command: click.Command = app
    path = ["runner"]
    around: click.Context | None = None  # the context of the group that holds `command`
    rest = list(args)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        around = click.Context(command, info_name=path[-1], parent=around, help_option_names=["-h", "--help"])
        sub = command.get_command(around, rest[0])
        if sub is None:
            return f"`{' '.join(path)}` has no command {rest[0]!r}"
        path.append(rest.pop(0))
        command = sub
    try:
        with command.make_context(path[-1], list(rest), parent=around, resilient_parsing=not (complete or rest)):
            pass
    except click.exceptions.Exit:
        return None  # --help or --version
    except click.ClickException as exc:
        return f"`{' '.join(path + rest)}`: {exc.format_message()}"
    return None


def option_names() -> set[str]:
    """Every option spelling of every runner command."""
    from runner.cli import app

    names = {"--help", "-h"}
    stack: list[click.Command] = [app]
    while stack:
        command = stack.pop()
        for param in command.params:
            if isinstance(param, click.Option):
                names.update(param.opts + param.secondary_opts)
        if isinstance(command, click.Group):
            stack.extend(command.commands.values())
    return names
