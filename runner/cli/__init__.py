"""The `beta-runner` command line: one module per subcommand, launching runs from options,
terminal output, logs, gates. Nothing imports this package.
"""
