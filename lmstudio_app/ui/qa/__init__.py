"""Extractive question answering in the window: the wizard's path, the live run, results and "Try it"."""
