"""The Results page's share of optimizing: the Optimized tab (table + chart) and the try-it box's choice
between the fine-tuned model and its optimized copies (run by ONNX Runtime)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox, QTabWidget

from lmstudio_app.core.optimize.report import Comparison
from lmstudio_app.ui.optimize.actions import saved_comparisons
from lmstudio_app.ui.optimize.comparison_view import ComparisonView


class OptimizedTab:
    """Owns the comparison view inside `tabs` (hidden until there is a comparison) and fills `try_model`."""

    def __init__(self, tabs: QTabWidget, try_model: QComboBox) -> None:
        self.tabs, self.try_model = tabs, try_model
        self.view = ComparisonView()
        self.tabs.setTabVisible(self.tabs.addTab(self.view, "Optimized"), False)
        self.try_model.setToolTip(
            "Which model answers: the fine-tuned one, or an optimized copy (ONNX Runtime)"
        )

    def reset(self, model_dir: Path, run_dir: Path) -> None:
        """A new run is shown: its own model in the try-it box, and the comparisons saved with it."""
        self.try_model.clear()
        self.try_model.addItem("fine-tuned model", str(model_dir))
        self.tabs.setTabVisible(self.tabs.indexOf(self.view), False)
        for comparison in saved_comparisons(run_dir):
            self.show(comparison, switch=False)

    def show(self, comparison: Comparison, switch: bool) -> None:
        self.view.set_comparison(comparison)
        index = self.tabs.indexOf(self.view)
        self.tabs.setTabVisible(index, True)
        self.tabs.setTabText(index, f"Optimized ({comparison.method})")
        if self.try_model.findData(comparison.out_dir) < 0:
            self.try_model.addItem(f"optimized: {Path(comparison.out_dir).name}", comparison.out_dir)
        if switch:
            self.tabs.setCurrentIndex(index)
