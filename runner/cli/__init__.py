"""The `beta-runner` command line: one module per subcommand, terminal output, logs, gates, and
the wording of library errors for the flags (`translate`). Runs start through the run layer's
launch path (`runner.run.launch`), the same one `runner.run_experiment` takes. Nothing imports
this package.
"""
