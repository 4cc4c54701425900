"""The work: each action takes its adapters as keyword arguments and returns data; none prints."""
