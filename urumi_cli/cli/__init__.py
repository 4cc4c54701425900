"""Typer apps: parse flags, call one action, hand its result to a writer. No policy here."""
