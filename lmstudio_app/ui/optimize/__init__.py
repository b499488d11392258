"""The Optimize step of a finished run: ONNX fp32/int8 variants compared side by side."""
