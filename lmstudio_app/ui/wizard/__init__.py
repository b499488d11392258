"""The fine-tuning wizard: one module per page, the live training and results views, the runs list."""
