"""Choosing the base model before fine-tuning: rank candidate encoders by how well their frozen features
predict the user's labels (LogME and a cross-validated linear probe), with their size before loading."""
