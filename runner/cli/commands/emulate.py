"""`beta-runner emulate`: serve the Messages API emulator until interrupted."""

from __future__ import annotations

from collections.abc import Sequence

import click

from runner.cli.emulator_settings import emulator_config, setting_names
from runner.emulator import serve


@click.command(epilog="Settings (--set KEY=VALUE, repeatable): " + ", ".join(setting_names()) + ".")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port to listen on.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for outputs/faults.")
@click.option(
    "--allow-unknown-betas", is_flag=True, help="Accept beta names the emulator does not know."
)
@click.option(
    "--beta-effect",
    "effects",
    multiple=True,
    metavar="NAME:KEY=VALUE,...",
    help="Plant an effect, e.g. my-beta-2026-01-01:latency_ms=30,output_tokens=+20%.",
)
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", help="Any setting.")
def emulate(
    host: str,
    port: int,
    seed: int,
    allow_unknown_betas: bool,
    effects: Sequence[str],
    settings: Sequence[str],
) -> None:
    """Serve a local emulator of the Anthropic Messages API (Ctrl-C stops it)."""
    # Nothing reads a served emulator's request log, so it is off unless --set turns it on.
    words = ["record_requests=false", f"seed={seed}", *(f"beta_effect={e}" for e in effects)]
    words += settings
    if allow_unknown_betas:
        words.append("reject_unknown_betas=false")
    config = emulator_config(words)
    click.echo(f"Emulator listening on http://{host}:{port} (Ctrl-C to stop)", err=True)
    serve(config, host=host, port=port)
