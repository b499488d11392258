"""Smaller and faster models: ONNX export, int8 quantization, and a side-by-side comparison of the variants.

A layer above the feature packages: it reads fine-tune runs (their validation rows) and fills masks, so it
may import core.finetune and core.fillmask; the ONNX Runtime predictor itself sits in core/models so that
those packages can run an optimized folder without importing this one.
"""
