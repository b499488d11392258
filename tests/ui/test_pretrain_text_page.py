"""The Pre-train wizard's Text page on a folder of README-like files and binaries: the skipped files are said."""

from __future__ import annotations

from lmstudio_app.ui.pretrain.pages import PretrainContext, TextPage


def test_a_folder_with_binaries_is_read_and_the_skipped_files_are_named(qtbot, tmp_path):
    for name in ("README", "LICENSE"):
        (tmp_path / name).write_text(
            "".join(f"{name} says thing {i}. It is true.\n" for i in range(10)), encoding="utf-8"
        )
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    page = TextPage(PretrainContext())
    qtbot.addWidget(page)
    page.path_edit.setText(str(tmp_path))
    page.read()
    qtbot.waitUntil(lambda: not page.busy, timeout=30_000)
    assert page.isComplete(), page.summary.text()
    assert "2 documents" in page.summary.text()
    assert "1 file skipped as not text: logo.png" in page.summary.text()
