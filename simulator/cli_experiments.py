"""CLI commands for statistics and capacity planning (sweep, plan, compare, validate-model)."""


def add_commands(sub, scenario_args) -> None:
    """Register the experiment subcommands on the main parser's ``sub`` (none yet)."""
