"""Many runs: replications and intervals, sweeps, the planner, closed forms and validation."""
