"""The `passerelles` command's argument parser, in French: argparse's own words (usage, errors, required or
unknown arguments, invalid choices and values) translated in this one place. Every sub-command builds its parser
with `Parser` instead of `argparse.ArgumentParser`; its sub-parsers are French too (argparse makes them of the
parent's class)."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, NoReturn

# argparse's English messages (Python 3.11) and their French; the groups keep argparse's own values.
_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(f"^{english}$", re.DOTALL), french)
    for english, french in (
        (r"the following arguments are required: (?P<a>.*)", r"arguments obligatoires manquants : \g<a>"),
        (r"one of the arguments (?P<a>.*) is required", r"il faut l'un des arguments \g<a>"),
        (r"argument (?P<a>\S+): not allowed with argument (?P<b>.*)", r"l'argument \g<a> exclut l'argument \g<b>"),
        (
            r"argument (?P<a>\S+): invalid choice: (?P<v>.*) \(choose from (?P<c>.*)\)",
            r"argument \g<a> : choix invalide \g<v> (choix possibles : \g<c>)",
        ),
        (r"argument (?P<a>\S+): invalid int value: (?P<v>.*)", r"argument \g<a> : \g<v> n'est pas un nombre entier"),
        (r"argument (?P<a>\S+): invalid float value: (?P<v>.*)", r"argument \g<a> : \g<v> n'est pas un nombre"),
        (r"argument (?P<a>\S+): invalid \S+ value: (?P<v>.*)", r"argument \g<a> : valeur invalide \g<v>"),
        (r"argument (?P<a>\S+): expected one argument", r"argument \g<a> : une valeur attendue"),
        (r"argument (?P<a>\S+): expected at most one argument", r"argument \g<a> : une valeur au plus"),
        (r"argument (?P<a>\S+): expected at least one argument", r"argument \g<a> : au moins une valeur attendue"),
        (r"argument (?P<a>\S+): expected (?P<n>\d+) arguments?", r"argument \g<a> : \g<n> valeur(s) attendue(s)"),
        (r"argument (?P<a>\S+): ignored explicit argument (?P<v>.*)", r"argument \g<a> : valeur en trop \g<v>"),
        (r"unrecognized arguments: (?P<a>.*)", r"arguments inconnus : \g<a>"),
        (
            r"ambiguous option: (?P<o>\S+) could match (?P<m>.*)",
            r"option ambiguë : \g<o> peut désigner \g<m>",
        ),
        (r"unexpected option string: (?P<o>.*)", r"option inattendue : \g<o>"),
        (r"argument (?P<a>\S+): (?P<m>.*)", r"argument \g<a> : \g<m>"),  # our own (French) ArgumentTypeError
    )
)


def french(message: str) -> str:
    """argparse's English error message in French (a message it does not know passes unchanged)."""
    for pattern, replacement in _MESSAGES:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, "usage : " if prefix is None else prefix)


class Parser(argparse.ArgumentParser):
    """argparse.ArgumentParser speaking French: help, usage and errors (exit code 2, on stderr, as argparse)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        add_help = kwargs.pop("add_help", True)
        kwargs["add_help"] = False  # our own -h, in French
        super().__init__(*args, **kwargs)
        self._positionals.title = "arguments"
        self._optionals.title = "options"
        if add_help:
            self.add_argument("-h", "--help", action="help", help="affiche cette aide et s'arrête")

    def error(self, message: str) -> NoReturn:
        """Print the usage and the French reason, exit 2 (argparse's contract)."""
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog} : erreur : {french(message)}\n")
