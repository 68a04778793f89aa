"""The ``mic`` command line: thin typer commands over the library functions."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="mic",
    help="Train and evaluate elastic-dimension (Matryoshka) sentence embeddings with MIC.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """MIC: Matryoshka sentence embeddings that stay strong when truncated to 8-64 dims."""


# --- training commands (train, demo) ---

# --- evaluation commands (eval, analyze, compare) ---


if __name__ == "__main__":
    app()
