"""The typer application class behind the ``mic`` command line, with flags shown as flags in ``--help``.

typer's rich help (0.29) prints a value type in the type column of every option, flags included: ``--help``,
``--resume`` and ``--install-completion`` read ``<bool>`` although they take no value (click's plain help
leaves it out). Every command of a ``FlagHelpTyper`` app shows flags with an empty type column instead. Rich help
also keeps a docstring's line breaks, so a description wrapped at the source's width printed ragged in a narrower
terminal; each paragraph of a command's description is one line here, which the terminal wraps (the examples of the
epilog keep their lines).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:
    from typer._click.core import Parameter  # typer 0.29 vendors click as typer._click


class _FlagsWithoutType:
    """Mixin for click commands: a flag gets an empty metavar for the help; help texts print as written, each
    paragraph of the description as one line."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        if self.rich_markup_mode == "rich":  # type: ignore[attr-defined]
            self.help, self.epilog = _literal(_unwrapped(self.help)), _literal(self.epilog)
            for param in self.params:  # type: ignore[attr-defined]
                param.help = _literal(getattr(param, "help", None))

    def get_params(self, ctx: typer.Context) -> list[Parameter]:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


def _unwrapped(text: str | None) -> str | None:
    """``text`` with the line breaks inside each paragraph (blank-line separated) turned into spaces."""
    return "\n\n".join(" ".join(paragraph.split("\n")) for paragraph in text.split("\n\n")) if text else text


def _literal(text: str | None) -> str | None:
    """``text`` escaped so that rich markup prints it as written (``None`` stays ``None``)."""
    return escape(text) if text else text


class FlagHelpCommand(_FlagsWithoutType, TyperCommand):
    """A typer command whose help shows no ``<bool>`` for flags."""


class FlagHelpGroup(_FlagsWithoutType, TyperGroup):
    """A typer group (the top-level ``mic``) whose help shows no ``<bool>`` for flags."""


class FlagHelpTyper(typer.Typer):
    """``typer.Typer`` whose group and every command show no ``<bool>`` for flags in ``--help``."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("cls", FlagHelpGroup)
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def command(  # type: ignore[override]
        self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: object
    ):
        return super().command(name, cls=cls or FlagHelpCommand, **kwargs)  # type: ignore[arg-type]
