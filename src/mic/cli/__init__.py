"""The ``mic`` command line: thin typer commands over the library functions.

:mod:`mic.cli.common` holds the app and what the commands share (:mod:`mic.cli.help`: how ``--help`` prints
flags). Each command group is one module, imported here so that its commands register on :data:`app`, in the
order ``mic --help`` lists them: :mod:`mic.cli.train` (train, demo), :mod:`mic.cli.evaluate` (eval, analyze,
compare), :mod:`mic.cli.retrieve` (index, search, serve) and :mod:`mic.cli.adapt` (adapt).
"""

from mic.cli.common import app

# isort: off
from mic.cli import train, evaluate, retrieve, adapt  # noqa: F401  (registers the commands, in this order)
# isort: on

__all__ = ["app"]
