"""`beta-runner emulate`: serve the Messages API emulator until interrupted."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import click

from runner.cli.commands.options import command_log, log_format_option
from runner.cli.emulator_settings import emulator_config, emulator_keys, setting_names
from runner.config.environment import EMULATOR_KEYS_ENV, Environment
from runner.emulator import listen, serve, server_stack
from runner.errors import UsageError

EPILOG = (
    "Settings (--set KEY=VALUE, repeatable): " + ", ".join(setting_names()) + ". "
    f"Keys: the emulator accepts any key unless {EMULATOR_KEYS_ENV} (comma-separated) or "
    "--keys-file lists the accepted ones."
)


@click.command(epilog=EPILOG)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for outputs/faults.")
@click.option(
    "--allow-unknown-betas", is_flag=True, help="Accept beta names the emulator does not know."
)
@click.option(
    "--beta-effect",
    "effects",
    multiple=True,
    metavar="NAME:KEY=VALUE,...",
    help="Plant an effect, e.g. my-beta-2026-01-01:latency_ms=30,output_tokens=+20%,correct=-20.",
)
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", help="Any setting.")
@click.option(
    "--keys-file",
    type=click.Path(path_type=Path),
    help="Accept only the keys in this file (one a line); requests with another key get 401.",
)
@log_format_option
@click.pass_context
def emulate(
    ctx: click.Context,
    host: str,
    port: int,
    seed: int,
    allow_unknown_betas: bool,
    effects: Sequence[str],
    settings: Sequence[str],
    keys_file: Path | None,
    log_format: str | None,
) -> None:
    """Serve a local emulator of the Anthropic Messages API (Ctrl-C stops it)."""
    # Nothing reads a served emulator's request log, so it is off unless --set turns it on.
    words = ["record_requests=false", f"seed={seed}", *(f"beta_effect={e}" for e in effects)]
    words += settings
    if allow_unknown_betas:
        words.append("reject_unknown_betas=false")
    config = emulator_config(words)
    config = dataclasses.replace(config, api_keys=emulator_keys(Environment.from_os(), keys_file))
    try:
        sock = listen(host, port)
    except OSError as exc:
        raise UsageError(
            f"--host {host} --port {port}: cannot listen there ({exc.strerror or exc}); "
            "pick a free port, or an address of this machine such as 127.0.0.1."
        ) from None
    bound = sock.getsockname()[1]
    log = command_log(ctx, log_format)
    stack = " + ".join(server_stack())  # uvloop + httptools with beta-runner[fast]
    message = f"Emulator listening on http://{host}:{bound} ({stack}; Ctrl-C to stop)"
    log.info(message, "emulator_started")
    serve(config, sock)
