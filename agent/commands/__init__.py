"""Handlers of the ``agent`` command's subcommands, one module per group.

Each handler takes the parsed arguments, calls the library and prints; it returns the exit
code. Library errors propagate to ``agent.cli.run_handler``, which prints one line.
"""
