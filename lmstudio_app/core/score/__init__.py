"""Sentence scores (pll, pll-word, chain), minimal pairs and bias probes (templates, CrowS-Pairs)."""
