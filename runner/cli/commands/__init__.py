"""One module per `beta-runner` subcommand: argument parsing and printing, no business logic."""
