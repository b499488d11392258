"""Word tagging (NER, parts of speech) in the window: the wizard's path, the live run, results and "Try it"."""
