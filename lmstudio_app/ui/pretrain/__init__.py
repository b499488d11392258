"""The Pre-train wizard and the views of a pre-training run (live training, results)."""
