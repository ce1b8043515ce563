"""One run told: tidy frames, the summary, narrative, recovery, traces."""
