"""``python -m mic``: the same command line as the ``mic`` script (handy under ``torchrun``)."""

from mic.cli import app

app()
