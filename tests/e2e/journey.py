"""One user journey through the real app in a real X window (run by test_journey.py under Xvfb).

It starts the app exactly as `lmstudio-app` does (cli.main with no arguments) and drives it from a
timer inside the app's own event loop: the embedded model loads -> a masked sentence gets predictions
-> the attention panel shows the bertviz views and the native grid -> the fine-tuning wizard trains a
few steps on a small CSV, shows results and saves the model -> the saved model is loaded and predicts.
Each stage saves a screenshot of the X screen and asserts what the user sees. Exit code 0 = passed.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from lmstudio_app.cli import main as cli_main
from lmstudio_app.ui.app import make_application


class Journey:
    def __init__(self, shots: Path, work: Path) -> None:
        self.shots, self.work = shots, work
        self.failed = False
        self.window = None

    # ---- helpers ------------------------------------------------------------------------------------
    @staticmethod
    def pause(ms: int) -> None:
        """Run the event loop for `ms`; unlike QTest.qWait it lets worker threads have the GIL meanwhile."""
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def wait(self, what: str, predicate: Callable[[], bool], timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for: {what}")
            self.pause(50)

    def shot(self, name: str) -> None:
        """A screenshot of the real X screen (what a person would see), not a widget rendering."""
        self.pause(300)
        screen = QApplication.primaryScreen()
        image = screen.grabWindow(0)
        path = self.shots / f"{name}.png"
        assert image.save(str(path)) and image.width() > 0, f"could not save {path}"
        print(f"[journey] {name}: screenshot {path.name} {image.width()}x{image.height()}", flush=True)

    @staticmethod
    def column(panel, header: str) -> int:
        """The Models table's column with this header, as the user finds it."""
        table = panel.table
        return next(c for c in range(table.columnCount()) if table.horizontalHeaderItem(c).text() == header)

    def show_tab(self, title: str):
        panel = self.window.panels[title]
        self.window.raise_()
        self.window.activateWindow()
        self.window.tabs.setCurrentWidget(panel)
        self.pause(100)
        assert self.window.tabs.currentWidget() is panel
        return panel

    # ---- stages -------------------------------------------------------------------------------------
    def run(self) -> None:
        windows = [w for w in QApplication.topLevelWidgets() if type(w).__name__ == "MainWindow"]
        if not windows:  # the app still imports its stack behind the splash (its events run meanwhile)
            QTimer.singleShot(200, self.run)
            return
        try:
            self.window = windows[0]
            for stage in (
                self.models,
                self.masked_words,
                self.attention,
                self.inside,
                self.fine_tune,
                self.use_saved_model,
                self.explain,
            ):
                stage()
            print("[journey] passed", flush=True)
        except Exception:
            self.failed = True
            traceback.print_exc()
            if self.window is not None:
                self.shot("failure")
        finally:
            if self.window is not None:
                for panel in self.window.panels.values():
                    panel.may_close = lambda: True  # never block the final close on a question
                self.window.close()
            QApplication.instance().exit(1 if self.failed else 0)

    def models(self) -> None:
        app = QApplication.instance()
        assert app.platformName() == "xcb", f"not a real X window: {app.platformName()}"
        self.wait(
            "the window to be exposed",
            lambda: self.window.isVisible() and self.window.windowHandle().isExposed(),
        )
        assert self.window.windowTitle() == "LM Studio App"
        panel = self.show_tab("Models")
        self.wait("the embedded model to load", lambda: panel.table.rowCount() >= 1, timeout=300)
        name = panel.table.item(0, 0).text()
        assert name.startswith("minilm-mlm"), name
        assert "masked-lm" in panel.table.item(0, self.column(panel, "Heads")).text()
        assert panel.table.item(0, self.column(panel, "Family")).text() == "masked"
        assert "Loaded minilm-mlm" in panel.status.text()
        assert "1 model loaded" in self.window.memory_label.text()
        self.shot("01_models")

    def masked_words(self) -> None:
        panel = self.show_tab("Masked words")
        assert panel.model_combo.currentText().startswith("minilm-mlm")
        panel.editor.setPlainText("She drank a cup of hot [MASK] before work.")
        view = panel.views[0]
        self.wait(
            "fill-mask predictions",
            lambda: bool(view.mask_views) and view.mask_views[0].table.rowCount() == 5,
        )
        words = [view.mask_views[0].table.item(r, 0).text() for r in range(5)]
        assert all(words) and "%" in view.mask_views[0].table.item(0, 1).text(), words
        print(f"[journey] masked words: top 5 = {words}", flush=True)
        assert "small demo model" in panel.note.text()
        self.shot("02_masked_words")
        view.mask_views[0].table.cellClicked.emit(0, 0)  # the user clicks the best candidate
        self.wait("the candidate to fill the sentence", lambda: "[MASK]" not in panel.editor.toPlainText())
        assert words[0] in panel.editor.toPlainText().lower()

    def attention(self) -> None:
        panel = self.show_tab("Attention")
        panel.text_edit.setText("The cat sat on the mat because it was tired.")
        panel.run()
        self.wait("the native overview grid", lambda: len(panel.grid.cells) == 6 * 12)
        self.shot("03_attention_grid")
        # The dark theme once: every plot follows it (background, axes, every token named).
        from lmstudio_app.ui.plot_theme import DARK, contrast

        self.window.set_theme("dark")
        self.pause(300)
        background = panel.detail.backgroundBrush().color().name()
        assert background == DARK.background and panel.grid.backgroundBrush().color().name() == background
        assert contrast(panel.detail.left_axis.textPen().color().name(), background) >= 4.5
        assert panel.detail.left_axis.drawn == panel.result.tokens, panel.detail.left_axis.drawn
        self.shot("03b_attention_dark")
        self.window.set_theme("light")
        from lmstudio_app.ui.attention.panel import TABS

        panel.tabs.setCurrentIndex(TABS.index("bertviz"))
        counts: dict[str, list] = {}
        script = (
            "JSON.stringify(Array.from(document.querySelectorAll('section.view')).map(s => [s.dataset.view,"
            " s.querySelectorAll('svg line').length]))"
        )

        def drawn() -> bool:
            if panel.web.view is not None:
                panel.web.run_js(script, lambda value: counts.update(value=json.loads(value or "[]")))
            value = counts.get("value") or []
            return bool(value) and all(c[1] > 0 for c in value)

        self.wait("the bertviz views to draw", drawn, timeout=90)
        assert [c[0] for c in counts["value"]] == ["head", "model"], counts
        assert panel.web.blocked_requests == [], panel.web.blocked_requests
        self.shot("04_attention_bertviz")

    def inside(self) -> None:
        panel = self.show_tab("Inside")
        panel.text_edit.setText("She drank a cup of hot [MASK] before work.")
        panel.tabs.setCurrentIndex(3)  # Layer lens
        panel.run()
        lens = panel.views[3]
        self.wait("the layer lens", lambda: lens.result is not None)
        assert lens.table.rowCount() == 7 and lens.table.item(6, 0).text() == "layer 5"
        print(f"[journey] layer lens: final top words {lens.result.words}", flush=True)
        self.shot("04b_inside_lens")
        panel.tabs.setCurrentIndex(0)  # runs the self-attention steps for the same sentence
        steps = panel.views[0]
        self.wait("self-attention step by step", lambda: steps.result is not None)
        assert steps.result.max_error < 1e-4, steps.result.max_error
        self.shot("04c_inside_steps")

    def fine_tune(self) -> None:
        from PySide6.QtWidgets import QWizard

        panel = self.show_tab("Fine-tune")
        csv = self.work / "reviews.csv"
        good = ["great movie", "i love it", "wonderful film", "very good", "happy with this", "good book"]
        bad = ["terrible film", "i hate it", "bad movie", "very sad", "awful play", "bad food"]
        rows = ["text,label"] + [
            f"{good[i % 6]} indeed,positive" if i % 2 else f"{bad[i % 6]} really,negative" for i in range(40)
        ]
        csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
        panel.buttons["New fine-tune…"].click()
        wizard = panel.wizard
        self.wait("the wizard to open", wizard.isVisible)

        def next_page() -> None:
            button = wizard.button(QWizard.WizardButton.NextButton)
            assert button.isEnabled(), f"Next is disabled on {wizard.currentPage().title()}"
            button.click()

        wizard.data_page.path_edit.setText(str(csv))
        QTest.keyClick(wizard.data_page.path_edit, Qt.Key.Key_Return)
        self.wait("the CSV to be read", wizard.data_page.isComplete, timeout=60)
        assert "40 rows" in wizard.data_page.detected.text(), wizard.data_page.detected.text()
        self.shot("05_wizard_data")
        next_page()
        self.wait("the columns page", wizard.columns_page.isComplete, timeout=60)
        assert wizard.columns_page.label_combo.currentText() == "label"
        next_page()
        self.wait("the split page", wizard.split_page.isComplete, timeout=60)
        next_page()
        self.wait("the base-model candidates", wizard.choose_page.isComplete, timeout=120)
        next_page()  # the optional chooser: nothing picked
        settings = wizard.settings_page
        self.wait("token lengths to be measured", lambda: not settings.measuring, timeout=120)
        assert settings.model_combo.currentText() == "all-MiniLM-L6-v2"
        settings.max_steps.setValue(6)
        settings.eval_steps.setValue(3)
        settings.batch.setValue(8)
        self.shot("06_wizard_settings")
        next_page()
        view = wizard.train_page.view
        self.wait("training to finish", lambda: view.state != "running", timeout=600)
        assert view.state == "finished", view.status.text()
        assert view.curves.points("loss")[0], "no loss curve"
        self.shot("07_wizard_training")
        next_page()
        results = wizard.results_page.view
        assert "accuracy" in results.summary.text().lower(), results.summary.text()
        assert results.per_class.rowCount() == 2
        self.saved = self.work / "my-classifier"
        done: dict[str, bool] = {}
        results.action_finished.connect(lambda message, ok: done.update(ok=ok, message=message))
        results.save_folder(self.saved)
        self.wait("the model to be saved", lambda: "ok" in done, timeout=120)
        assert done["ok"] and (self.saved / "config.json").is_file(), done
        self.results = results
        self.shot("08_wizard_results")

    def use_saved_model(self) -> None:
        panel = self.show_tab("Models")
        rows = panel.table.rowCount()
        panel.source_combo.setCurrentText(str(self.saved))
        panel.load_button.click()
        self.wait("the saved classifier to load", lambda: panel.table.rowCount() == rows + 1, timeout=120)
        assert panel.table.item(rows, self.column(panel, "Heads")).text() == "sequence-classification"
        assert (
            panel.table.item(rows, self.column(panel, "Architecture")).text()
            == "BertForSequenceClassification"
        )
        self.shot("09_saved_model_loaded")
        loaded = self.window.state.registry.get(panel.table.item(rows, 0).text())
        import torch

        encoded = loaded.tokenizer(["what a wonderful film"], return_tensors="pt")
        with torch.inference_mode():
            probs = loaded.model(**encoded).logits.softmax(-1)[0]
        label = loaded.model.config.id2label[int(probs.argmax())]
        assert label in {"positive", "negative"} and float(probs.max()) >= 0.5, label
        print(f"[journey] loaded classifier says: {label} ({float(probs.max()):.2f})", flush=True)
        self.results.try_edit.setText("what a wonderful film")
        self.wait("the try-it prediction", lambda: "→" in self.results.try_result.text(), timeout=60)
        print(f"[journey] saved model predicts: {self.results.try_result.text()}", flush=True)

    def explain(self) -> None:
        """The results page's "Explain…" opens the Explain tab on the try-it text, loaded model and all."""
        self.results.explain_button.click()
        panel = self.window.panels["Explain"]
        self.wait("the Explain tab", lambda: self.window.tabs.currentWidget() is panel)
        tab = panel.attribution
        self.wait("the explanation", lambda: "ig" in tab.results, timeout=180)
        self.show_tab("Explain")
        ig = tab.results["ig"]
        assert tab.editor.toPlainText() == "what a wonderful film"
        assert ig.words.words == ["what", "a", "wonderful", "film"], ig.words.words
        assert (
            ig.predicted_label in {"positive", "negative"} and tab.views["ig"].bars.labels == ig.words.words
        )
        top = ig.words.words[int(abs(ig.words.scores).argmax())]
        print(f"[journey] explain: IG says {top!r} matters most for {ig.target}", flush=True)
        self.shot("10_explain")


def main() -> int:
    shots, work = Path(sys.argv[1]), Path(sys.argv[2])
    shots.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    make_application()  # the same QApplication that cli.main() will reuse
    journey = Journey(shots, work)
    QTimer.singleShot(500, journey.run)
    code = cli_main([])
    return 1 if journey.failed else code


if __name__ == "__main__":
    sys.exit(main())
